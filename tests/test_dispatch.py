"""派单: a grid worker assigns a wish to a member, who may give it back."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select, update

from models import Claim, Wish, utcnow

from .world import VOLUNTEERS_KEY, add_people, assert_no_secrets, session_of


def claims_of(app, number: int) -> tuple[str, list[tuple[str, str, str | None]]]:
    with session_of(app) as s:
        wish = s.get(Wish, number)
        return wish.status, [(c.member.openid, c.status, c.assigned_by.openid if c.assigned_by else None)
                             for c in wish.claims]


def published_wish(chat) -> None:
    chat.dialog([
        ("o-wang", "许愿 需要一根拐杖", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
    ])


NEW_WISH = "新心愿 #1（新城社区第一网格，王**）：需要一根拐杖\n回复「认领 1」认领。"


def test_assign_tell_the_member_and_the_group(chat, app):
    published_wish(chat)
    chat.dialog([("o-liu", "派单 1 李建国", "心愿 #1 已派给 李建国，已私信通知本人。")])
    assert claims_of(app, 1) == ("claimed", [("o-li", "active", "o-liu")])
    assert chat.private_notices("o-li") == [
        "网格员刘芳给您派了心愿 #1：需要一根拐杖\n许愿人：王秀兰，电话：13800000001，地址：新城小区3号楼401\n"
        "完成后回复「完成 1」；不方便请回复「放弃 1」。"]
    assert chat.group_pushes(VOLUNTEERS_KEY) == [NEW_WISH, "心愿 #1 已派给 李建国（市税务局）。"]
    assert chat.private_notices("o-wang") == [
        "您的心愿 #1 已发布，有人认领会告诉您。", "您的心愿 #1 已有人认领：李建国（市税务局），会尽快联系您。"]

    # The member gives it back: it reopens and the grid worker hears of it.
    chat.dialog([("o-li", "放弃 1", "已放弃心愿 #1，它会重新开放给大家认领。")])
    assert claims_of(app, 1) == ("published", [("o-li", "released", "o-liu")])
    assert chat.private_notices("o-liu") == ["您派的心愿 #1，李建国放弃了认领。可以改派给别人：派单 1 加志愿者姓名"]
    assert chat.group_pushes(VOLUNTEERS_KEY) == [
        NEW_WISH, "心愿 #1 已派给 李建国（市税务局）。", "心愿 #1 重新开放认领：需要一根拐杖\n回复「认领 1」认领。"]
    assert_no_secrets(chat.group_pushes())


def test_assign_by_phone_when_names_clash(chat, app):
    add_people(app, dict(openid="o-li2", role="member", name="李建国", phone="13900000009",
                         community="新城社区", unit="市司法局"))
    published_wish(chat)
    chat.dialog([
        ("o-liu", "派单 1 李建国", "有2位志愿者叫「李建国」，请写手机号：派单 1 手机号"),
        ("o-liu", "派单 1 13900000009", "心愿 #1 已派给 李建国，已私信通知本人。"),
    ])
    assert claims_of(app, 1) == ("claimed", [("o-li2", "active", "o-liu")])
    with session_of(app) as s:
        assert s.scalar(select(Claim)).unit.name == "市司法局"  # the claim counts for the member's unit


def test_refusals_and_bad_input_change_nothing(chat, app):
    chat.dialog([
        ("o-wang", "许愿 需要一根拐杖", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "派单 1 李建国", "心愿 #1 还没有审核发布，发布后才能派单：审核 1 通过"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
        ("o-li", "派单 1 陈晓梅", "「派单」不是您能用的命令。发「帮助」看看您能做什么。"),
        ("o-zhou", "派单 1 李建国", "心愿 #1 不在您负责的网格。"),
        ("o-liu", "派单 1 张三", "没有找到志愿者「张三」。请确认姓名，或者写手机号：派单 1 手机号"),
        ("o-liu", "派单 1", "请这样写：派单 12 李建国（12 是心愿编号）"),
        ("o-liu", "派单 9 李建国", "没有找到心愿 #9。"),
        # a resident is no member
        ("o-liu", "派单 1 王秀兰", "没有找到志愿者「王秀兰」。请确认姓名，或者写手机号：派单 1 手机号"),
    ])
    with session_of(app) as s:
        assert s.scalar(select(func.count(Claim.id))) == 0
        assert s.get(Wish, 1).status == "published"

    chat.dialog([
        ("o-liu", "派单 1 李建国", "心愿 #1 已派给 李建国，已私信通知本人。"),
        ("o-liu", "派单 1 陈晓梅", "心愿 #1 的名额已满（李建国已认领），不能再派单。"),
    ])
    assert claims_of(app, 1) == ("claimed", [("o-li", "active", "o-liu")])


def test_assigning_a_wish_whose_slots_are_all_taken_is_answered_for_the_dispatcher(chat, app):
    """Not the words a claiming member gets (已被认领，请看看其他心愿): who holds the slots, and
    that no more can be assigned."""
    add_people(app, dict(openid="o-zhang", role="member", name="张伟", phone="13900000003", community="新城社区"))
    chat.dialog([
        ("o-wang", "许愿 需要两个人帮忙搬家", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 2人", "心愿 #1 已发布到志愿者群。"),
        ("o-li", "认领 1", "认领成功！心愿 #1：需要两个人帮忙搬家\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-liu", "派单 1 陈晓梅", "心愿 #1 已派给 陈晓梅，已私信通知本人。"),
        ("o-liu", "派单 1 张伟", "心愿 #1 的名额已满（李建国、陈晓梅已认领），不能再派单。"),
        ("o-zhang", "认领 1", "心愿 #1 已被认领，请看看其他心愿。"),  # a member claiming keeps theirs
    ])
    assert claims_of(app, 1) == ("claimed", [("o-li", "active", None), ("o-chen", "active", "o-liu")])


def test_a_member_without_wechat_is_told_through_a_grid_worker(chat, app):
    from handlers import directory

    with app.extensions["wishbot"].db.transaction() as s:
        directory.add_person(s, None, "member", "李四", phone="13912340000", community="新城社区")
    chat.dialog([
        ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
        ("o-liu", "派单 1 李四", "心愿 #1 已派给 李四，TA没有绑定微信，请电话通知。"),
    ])
    # Worded for the grid worker who tells them: 李四 cannot reply 完成/放弃.
    told = ["【请转告 李四，电话 13912340000】网格员刘芳给您派了心愿 #1：需要一副老花镜\n"
            "许愿人：王秀兰，电话：13800000001，地址：新城小区3号楼401\n"
            "（李四没有绑定微信，回复不了「完成」「放弃」：TA做完了，请您回复「代完成 1 李四」；"
            "做不了，回复「代放弃 1 李四」。）"]
    assert chat.private_notices("o-liu") == told

    # Three days on, the reminder goes the same way, in the same words.
    with session_of(app) as s:
        s.execute(update(Claim).values(created_at=utcnow() - timedelta(days=3.1)))
        s.commit()
    runtime = app.extensions["wishbot"]
    assert len(runtime.send_reminders()) == 1
    assert chat.private_notices("o-liu") == told + [
        "【请转告 李四，电话 13912340000】您认领的心愿 #1（需要一副老花镜）已经3天了。"
        "（李四没有绑定微信，回复不了「完成」「放弃」：TA做完了，请您回复「代完成 1 李四」；"
            "做不了，回复「代放弃 1 李四」。）"]


def test_a_member_of_another_community_is_not_assignable(chat, app):
    """派单 takes members registered with the wish's community, as the dashboard's list does."""
    add_people(app, dict(openid="o-far", role="member", name="远方志愿者", phone="13900000077",
                         community="东山社区", unit="市司法局"))
    published_wish(chat)
    assert chat.say("o-liu", "派单 1 远方志愿者") == (
        "没有找到志愿者「远方志愿者」。请确认姓名，或者写手机号：派单 1 手机号")
    assert chat.say("o-liu", "派单 1 13900000077") == (
        "没有找到志愿者「13900000077」。请确认姓名，或者写手机号：派单 1 手机号")
    assert claims_of(app, 1) == ("published", [])
