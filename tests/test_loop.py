"""The micro-wish loop end to end, over the real protocol, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import select

from models import Claim, Notice, Wish, WishEvent

from .world import GRIDWORKERS_KEY, VOLUNTEERS_KEY, stamps


def claimed(number: int, content: str) -> str:
    return f"认领成功！心愿 #{number}：{content}\n许愿人的联系方式已私信发给您。完成后回复「完成 {number}」。"


def published(number: int, content: str) -> list[tuple[str, str, str]]:
    """A resident's wish and the grid worker's approval, as a transcript."""
    return [("o-wang", f"许愿 {content}", f"收到您的心愿 #{number}，网格员审核后会发布。"),
            ("o-liu", f"审核 {number} 通过", f"心愿 #{number} 已发布到志愿者群。")]


def wish_row(app, number: int) -> Wish:
    with app.extensions["wishbot"].db.sessions() as s:
        wish = s.get(Wish, number)
        wish.claims  # load while the session is open
        return wish


def test_wish_to_confirmation(chat, app):
    chat.dialog([("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。")])
    assert wish_row(app, 1).status == "pending_review"
    assert chat.group_pushes(GRIDWORKERS_KEY) == [
        "待审核心愿 #1（新城社区第一网格，王**）：需要一副老花镜\n回复「审核 1 通过」或「审核 1 驳回 原因」。"]

    chat.dialog([("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。")])
    assert wish_row(app, 1).status == "published"
    new_wish = "新心愿 #1（新城社区第一网格，王**）：需要一副老花镜\n回复「认领 1」认领。"
    assert chat.group_pushes(VOLUNTEERS_KEY) == [new_wish]

    chat.dialog([("o-li", "认领 #1",
                  "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。")])
    wish = wish_row(app, 1)
    assert wish.status == "claimed" and [c.status for c in wish.claims] == ["active"]
    assert chat.group_pushes(VOLUNTEERS_KEY) == [new_wish, "心愿 #1 已由 李建国（市税务局） 认领。"]
    to_requester = ["您的心愿 #1 已发布，有人认领会告诉您。", "您的心愿 #1 已有人认领：李建国（市税务局），会尽快联系您。"]
    assert chat.private_notices("o-wang") == to_requester
    assert chat.private_notices("o-li") == [
        "您认领了心愿 #1：需要一副老花镜\n许愿人：王秀兰，电话：13800000001，地址：新城小区3号楼401\n完成后回复「完成 1」。"]

    chat.dialog([("o-li", "完成 1 已送到家", "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。")])
    assert wish_row(app, 1).status == "completed"
    assert chat.private_notices("o-wang") == to_requester + ["您的心愿 #1 已完成。收到了请回复「确认 1」，也可以加上您的评价。"]

    chat.dialog([("o-wang", "确认 1 很好 5分", "心愿 #1 已确认圆梦，谢谢您！")])
    wish = wish_row(app, 1)
    assert wish.status == "confirmed" and wish.rating == 5 and wish.feedback == "很好"

    chat.settle()
    with app.extensions["wishbot"].db.sessions() as s:
        actions = s.scalars(select(WishEvent.action).where(WishEvent.wish_id == 1).order_by(WishEvent.id)).all()
        assert actions == ["submit", "publish", "claim", "complete", "confirm"]
        assert s.scalar(select(Notice).where(Notice.status != "sent")) is None


def test_group_pushes_never_carry_contact_details(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    chat.say("o-li", "完成 1")
    chat.say("o-wang", "确认 1")
    pushes = chat.group_pushes()
    assert len(pushes) >= 5
    for text in pushes:
        assert "13800000001" not in text
        assert "新城小区" not in text
        assert "王秀兰" not in text


def test_withdraw_while_unclaimed_only(chat, app):
    chat.dialog(published(1, "想要一个助听器") + [("o-wang", "撤回 1", "心愿 #1 已撤回。")])
    assert wish_row(app, 1).status == "withdrawn"

    chat.dialog(published(2, "想要一根拐杖") + [
        ("o-li", "认领 2", claimed(2, "想要一根拐杖")),
        ("o-wang", "撤回 2", "心愿 #2 已有人认领，不能撤回了，请联系网格员。"),
    ])
    assert wish_row(app, 2).status == "claimed"


def test_release_reopens_the_wish(chat, app):
    chat.dialog(published(1, "想要一根拐杖") + [
        ("o-li", "认领 1", claimed(1, "想要一根拐杖")),
        ("o-li", "放弃 1", "已放弃心愿 #1，它会重新开放给大家认领。"),
    ])
    wish = wish_row(app, 1)
    assert wish.status == "published" and wish.claims[0].status == "released"
    assert chat.group_pushes(VOLUNTEERS_KEY) == [
        "新心愿 #1（新城社区第一网格，王**）：想要一根拐杖\n回复「认领 1」认领。", "心愿 #1 已由 李建国（市税务局） 认领。",
        "心愿 #1 重新开放认领：想要一根拐杖\n回复「认领 1」认领。"]
    chat.dialog([("o-chen", "认领 1", claimed(1, "想要一根拐杖"))])


def test_reject_tells_the_requester(chat, app):
    chat.dialog([
        ("o-wang", "许愿 想要一台电视机", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 驳回 超出微心愿范围", "心愿 #1 已驳回，已告知许愿人。"),
    ])
    wish = wish_row(app, 1)
    assert wish.status == "rejected" and wish.reject_reason == "超出微心愿范围"
    assert chat.private_notices("o-wang") == ["您的心愿 #1 未通过审核：超出微心愿范围。有疑问请找网格员。"]


def test_a_reason_set_off_by_a_comma_is_kept_without_it(chat, app):
    chat.dialog([
        ("o-wang", "许愿 想要一台电视机", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 驳回，重复了", "心愿 #1 已驳回，已告知许愿人。"),
    ])
    assert wish_row(app, 1).reject_reason == "重复了"
    assert chat.private_notices("o-wang") == ["您的心愿 #1 未通过审核：重复了。有疑问请找网格员。"]


def test_the_same_wish_sent_again_is_not_a_second_wish(chat, app):
    """An elderly resident who saw no answer sends it again: told it is in, not given a second
    number. Once the first is taken, the same words are a new need."""
    chat.dialog([
        ("o-wang", "许愿 需要一袋米", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-wang", "许愿 需要一袋米。", "这个心愿您已经提交过了（#1，待审核），不用再发。发「我的心愿」可以查看。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
        ("o-wang", "需要一袋米", "您是想许这个心愿吗：需要一袋米\n回复「是」提交，回复「不是」取消。"),
        ("o-wang", "是", "这个心愿您已经提交过了（#1，待认领），不用再发。发「我的心愿」可以查看。"),
        ("o-li", "认领 1", claimed(1, "需要一袋米")),
        ("o-wang", "许愿 需要一袋米", "收到您的心愿 #2，网格员审核后会发布。"),
    ])
    assert wish_row(app, 2).content == "需要一袋米"


def test_lists(chat):
    chat.dialog([
        ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-wang", "心愿 家里水龙头漏水", "收到您的心愿 #2，网格员审核后会发布。"),
        ("o-liu", "审核 2 通过", "心愿 #2 已发布到志愿者群。"),
        ("o-wang", "我的心愿", "您的心愿：\n#2 家里水龙头漏水 —— 待认领\n#1 需要一副老花镜 —— 待审核"),
        ("o-li", "心愿列表", "待认领的心愿：\n#2【房屋维修】家里水龙头漏水（王**）\n想认领哪个，就回复「认领」加编号，比如：认领 2"),
        ("o-li", "认领 2", claimed(2, "家里水龙头漏水")),
        ("o-li", "我的认领", "您的认领：\n#2 家里水龙头漏水 —— 进行中"),
    ])


def test_query_shows_each_role_what_it_may_see(chat, app):
    card = "心愿 #1（{}）\n需要一副老花镜\n类别：医疗器械·一般\n社区网格：新城社区/第一网格\n许愿人：{}"
    contact = "王秀兰，13800000001，新城小区3号楼401"
    chat.dialog(published(1, "需要一副老花镜") + [("o-chen", "查询 1", card.format("待认领", "王**"))])
    at = stamps(app, 1)
    chat.dialog([
        ("o-liu", "查询 1", card.format("待认领", contact) + f"\n· {at[0]} 王秀兰（微信）提交心愿：待审核"
         f"\n· {at[1]} 刘芳（微信）审核发布：待审核→待认领"),
        ("o-li", "认领 1", claimed(1, "需要一副老花镜")),
        ("o-li", "查询 1", card.format("已认领", contact) + "\n认领：李建国（进行中）"),
        ("o-li", "放弃 1", "已放弃心愿 #1，它会重新开放给大家认领。"),
        ("o-li", "查询 1", card.format("待认领", "王**")),
    ])


def test_claims_are_recorded_for_the_unit(chat, app):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    with app.extensions["wishbot"].db.sessions() as s:
        claim = s.scalar(select(Claim))
        assert claim.unit_id == claim.member.unit_id and claim.member.unit.name == "市税务局"
