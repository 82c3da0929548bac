"""代完成 / 代放弃: staff report a claim done, or end it, for a member who cannot answer in chat."""
from __future__ import annotations

from sqlalchemy import select

from models import Claim, Wish, WishEvent

from .test_dispatch import claims_of
from .world import VOLUNTEERS_KEY, add_people, assert_no_secrets, session_of

PUBLISHED = [
    ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
    ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
]


def add_member_without_wechat(app) -> None:
    from handlers import directory

    with app.extensions["wishbot"].db.transaction() as s:
        directory.add_person(s, None, "member", "李四", phone="13912340000", community="新城社区")


def timeline(app, number: int) -> list[tuple[str, str, str | None]]:
    with session_of(app) as s:
        return [(e.actor.name if e.actor else "系统", e.action, e.note)
                for e in s.scalars(select(WishEvent).where(WishEvent.wish_id == number).order_by(WishEvent.id))]


def hours_of(app, number: int) -> list[tuple[str, float | None, str | None, bool]]:
    with session_of(app) as s:
        return [(c.member.name, c.hours, c.hours_recorded_by.name if c.hours_recorded_by else None, c.hours_verified)
                for c in s.scalars(select(Claim).where(Claim.wish_id == number).order_by(Claim.id))]


def test_a_member_without_wechat_is_reported_done_by_the_grid_worker(chat, app):
    add_member_without_wechat(app)
    chat.dialog([*PUBLISHED,
                 ("o-liu", "派单 1 李四", "心愿 #1 已派给 李四，TA没有绑定微信，请电话通知。")])
    # The grid worker who passes the assignment on is told how to answer for 李四.
    assert chat.private_notices("o-liu")[-1].endswith(
        "（李四没有绑定微信，回复不了「完成」「放弃」：TA做完了，请您回复「代完成 1 李四」；做不了，回复「代放弃 1 李四」。）")

    chat.dialog([("o-liu", "代完成 1 李四 已经送到了 一个半小时",
                  "已替 李四 报告心愿 #1 完成，工时 1.5小时，已请许愿人确认。")])
    status, claims = claims_of(app, 1)
    assert (status, [c[1] for c in claims]) == ("completed", ["completed"])
    # The hours are the grid worker's record, verified when the resident confirms.
    assert hours_of(app, 1) == [("李四", 1.5, "刘芳", False)]
    assert timeline(app, 1)[-1] == ("刘芳", "complete_for", "代 李四 报告；已经送到了；工时 1.5小时")
    assert chat.private_notices("o-wang")[-1] == "您的心愿 #1 已完成。收到了请回复「确认 1」，也可以加上您的评价。"
    assert chat.group_pushes(VOLUNTEERS_KEY)[-1] == "心愿 #1 已由 李四 完成，谢谢！"

    chat.dialog([("o-wang", "确认 1 很好", "心愿 #1 已确认圆梦，谢谢您！")])
    assert hours_of(app, 1) == [("李四", 1.5, "刘芳", True)]


def test_the_only_claimer_need_not_be_named(chat, app):
    chat.dialog([*PUBLISHED,
                 ("o-li", "认领 1", "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
                 ("o-liu", "代完成 1", "已替 李建国 报告心愿 #1 完成，已请许愿人确认。")])
    # A member who can be written to hears what was done for them.
    assert chat.private_notices("o-li")[-1] == "网格员刘芳已替您报告心愿 #1 完成，谢谢您！"
    assert claims_of(app, 1)[0] == "completed"


def test_cancelling_reopens_the_wish_and_tells_the_member(chat, app):
    chat.dialog([*PUBLISHED,
                 ("o-liu", "派单 1 李建国", "心愿 #1 已派给 李建国，已私信通知本人。"),
                 ("o-liu", "代放弃 1 李建国 出差一个月", "已取消 李建国 对心愿 #1 的认领，心愿重新开放认领。")])
    assert claims_of(app, 1) == ("published", [("o-li", "released", "o-liu")])
    assert timeline(app, 1)[-1] == ("刘芳", "cancel_claim", "取消 李建国 的认领：出差一个月")
    assert chat.private_notices("o-li")[-1] == "网格员刘芳已取消您对心愿 #1 的认领（出差一个月），谢谢您的关心！"
    assert chat.private_notices("o-wang")[-1] == (
        "您的心愿 #1，李建国（市税务局）的认领已取消。心愿已重新开放，会有其他志愿者来认领。")
    # The one who assigned it ended it: no note to themselves that it may be reassigned.
    assert not [n for n in chat.private_notices("o-liu") if "可以改派" in n]
    assert chat.group_pushes(VOLUNTEERS_KEY)[-1] == "心愿 #1 重新开放认领：需要一副老花镜\n回复「认领 1」认领。"
    assert_no_secrets(chat.group_pushes())

    # The slot is open again: someone else takes it.
    chat.dialog([("o-liu", "派单 1 陈晓梅", "心愿 #1 已派给 陈晓梅，已私信通知本人。")])
    assert claims_of(app, 1)[0] == "claimed"


def test_another_grid_workers_cancel_tells_the_assigner(chat, app):
    add_people(app, dict(openid="o-xc", role="gridworker", name="新城社工", community="新城社区"))
    chat.dialog([*PUBLISHED,
                 ("o-liu", "派单 1 李建国", "心愿 #1 已派给 李建国，已私信通知本人。"),
                 ("o-xc", "代放弃 1", "已取消 李建国 对心愿 #1 的认领，心愿重新开放认领。")])
    assert chat.private_notices("o-liu")[-1] == "您派的心愿 #1，李建国的认领已取消。可以改派给别人：派单 1 加志愿者姓名"


def test_with_several_claimers_one_must_be_named(chat, app):
    chat.dialog([
        ("o-wang", "许愿 需要两个人帮忙搬家", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 2人", "心愿 #1 已发布到志愿者群。"),
        ("o-li", "认领 1", "认领成功！心愿 #1：需要两个人帮忙搬家\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-chen", "认领 1", "认领成功！心愿 #1：需要两个人帮忙搬家\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-liu", "代完成 1", "心愿 #1 有2位认领人：李建国、陈晓梅。请写上是谁：代完成 1 李建国 已送到 2小时"),
        ("o-liu", "代完成 1 搬完了", "心愿 #1 没有叫「搬完了」的认领人，认领人是：李建国、陈晓梅。"
                                   "请这样写：代完成 1 李建国 已送到 2小时"),
        ("o-liu", "代完成 1 陈晓梅 搬完了 3小时", "已替 陈晓梅 报告心愿 #1 完成，工时 3小时。"),
        # One slot still active: the wish is not complete, so the resident is not asked yet.
        ("o-liu", "代完成 1 陈晓梅", "陈晓梅已经报告完成心愿 #1 了。"),
        ("o-liu", "代放弃 1 13900000001", "已取消 李建国 对心愿 #1 的认领，心愿重新开放认领。"),  # by phone
        ("o-liu", "代放弃 1 李建国", "李建国对心愿 #1 的认领已经结束了。"),
    ])
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.status, [c.status for c in wish.claims]) == ("published", ["released", "completed"])


def test_refusals_change_nothing(chat, app):
    add_people(app, dict(openid="o-ma", role="gridworker", name="马伟", grid="新城社区/第二网格"))
    chat.dialog([
        *PUBLISHED,
        ("o-liu", "代完成 1", "心愿 #1 现在没有进行中的认领（待认领）。"),
        ("o-li", "认领 1", "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-li", "代完成 1", "「代完成」不是您能用的命令。发「帮助」看看您能做什么。"),
        ("o-wang", "代放弃 1", "「代放弃」不是您能用的命令。发「帮助」看看您能做什么。"),
        ("o-ma", "代完成 1", "心愿 #1 不在您负责的网格。"),
        ("o-zhou", "代放弃 1 李建国", "心愿 #1 不在您负责的网格。"),
        ("o-liu", "代完成", "请这样写：代完成 12 李建国 已送到 2小时"),
        ("o-liu", "代放弃 李建国", "请这样写：代放弃 12 李建国 原因"),
        ("o-liu", "代完成 9 李建国", "没有找到心愿 #9。"),
        ("o-liu", "代完成 1 李建国 100小时", "工时要在0到24小时之间。"),
    ])
    assert claims_of(app, 1) == ("claimed", [("o-li", "active", None)])
    assert [a for _who, a, _note in timeline(app, 1)] == ["submit", "publish", "claim"]


def test_a_phone_number_in_another_form_names_the_claimer(chat, app):
    chat.dialog([*PUBLISHED,
                 ("o-liu", "派单 1 李建国", "心愿 #1 已派给 李建国，已私信通知本人。"),
                 ("o-liu", "代完成 1 +8613900000001 2小时", "已替 李建国 报告心愿 #1 完成，工时 2小时，已请许愿人确认。")])
    assert hours_of(app, 1) == [("李建国", 2.0, "刘芳", False)]
