"""Several claimers: a wish with K slots stays open until every slot is taken and is completed
when every active claim is. Claims count for the member and for their partner unit."""
from __future__ import annotations

from sqlalchemy import func, select

from models import Claim, Unit, Wish, local_time, utcnow

from .world import VOLUNTEERS_KEY, add_people, assert_no_secrets, session_of


def state(app, number: int) -> tuple[str, int, list[str]]:
    with session_of(app) as s:
        wish = s.get(Wish, number)
        return wish.status, wish.open_slots, [c.status for c in wish.claims]


def claimed(number: int, content: str) -> str:
    return f"认领成功！心愿 #{number}：{content}\n许愿人的联系方式已私信发给您。完成后回复「完成 {number}」。"


def done(number: int) -> str:
    return f"谢谢您！心愿 #{number} 已报告完成，可以再发一张照片留作记录。"


def three_members(app) -> None:
    add_people(app, dict(openid="o-ma", role="member", name="马骏", phone="13900000003",
                         community="新城社区", unit="市税务局"),
               dict(openid="o-he", role="member", name="何静", phone="13900000004",
                        community="新城社区", unit="市司法局"))


def test_three_slots_fill_then_complete(chat, app):
    three_members(app)
    wish = "小区孩子们需要10个书包"
    chat.dialog([
        ("o-wang", f"许愿 {wish}", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 3人", "心愿 #1 已发布到志愿者群。"),
    ])
    published = f"新心愿 #1（新城社区第一网格，王**，需要3人）：{wish}\n回复「认领 1」认领。"
    assert chat.group_pushes(VOLUNTEERS_KEY) == [published]

    chat.dialog([("o-li", "认领 1", claimed(1, wish)), ("o-chen", "认领1", claimed(1, wish))])
    assert state(app, 1) == ("published", 1, ["active", "active"])
    assert chat.group_pushes(VOLUNTEERS_KEY) == [
        published, "心愿 #1 已由 李建国（市税务局） 认领，还差2人。", "心愿 #1 已由 陈晓梅（市司法局） 认领，还差1人。"]
    chat.dialog([("o-li", "认领 1", "您已认领心愿 #1。")])

    chat.dialog([("o-ma", "认领 #1", claimed(1, wish))])
    assert state(app, 1) == ("claimed", 0, ["active", "active", "active"])
    chat.dialog([("o-he", "认领 1", "心愿 #1 已被认领，请看看其他心愿。")])
    assert state(app, 1)[2] == ["active", "active", "active"]

    chat.dialog([("o-li", "完成 1", done(1)), ("o-chen", "完成 1", done(1))])
    assert state(app, 1) == ("claimed", 0, ["completed", "completed", "active"])
    told = ["您的心愿 #1 已发布，有人认领会告诉您。", "您的心愿 #1 已有人认领：李建国（市税务局），会尽快联系您。",
            "您的心愿 #1 已有人认领：陈晓梅（市司法局），会尽快联系您。", "您的心愿 #1 已有人认领：马骏（市税务局），会尽快联系您。"]
    assert chat.private_notices("o-wang") == told  # not asked to confirm while a claim is open
    chat.dialog([("o-ma", "完成 1 书包已发到孩子手里", done(1))])
    assert state(app, 1) == ("completed", 0, ["completed", "completed", "completed"])
    assert chat.private_notices("o-wang") == told + ["您的心愿 #1 已完成。收到了请回复「确认 1」，也可以加上您的评价。"]

    with session_of(app) as s:
        by_unit = dict(s.execute(select(Unit.name, func.count(Claim.id)).join(Claim, Claim.unit_id == Unit.id)
                                 .group_by(Unit.name)).all())
    assert by_unit == {"市税务局": 2, "市司法局": 1}
    chat.dialog([("o-liu", "统计", f"新城社区/第一网格 {local_time(utcnow()).month}月统计：\n"
                  "征集 1 个，发布 1 个，认领 1 个，\n完成 1 个，确认圆梦 0 个。\n"
                  "认领最多的共建单位：市税务局（2次）、市司法局（1次）")])
    assert_no_secrets(chat.group_pushes())


def test_a_released_slot_reopens_a_full_wish(chat, app):
    three_members(app)
    chat.dialog([
        ("o-wang", "许愿 陪老人聊聊天", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 2人", "心愿 #1 已发布到志愿者群。"),
        ("o-li", "认领 1", claimed(1, "陪老人聊聊天")),
        ("o-liu", "派单 1 陈晓梅", "心愿 #1 已派给 陈晓梅，已私信通知本人。"),
    ])
    assert state(app, 1) == ("claimed", 0, ["active", "active"])
    chat.dialog([("o-chen", "放弃 1", "已放弃心愿 #1，它会重新开放给大家认领。")])
    assert state(app, 1) == ("published", 1, ["active", "released"])
    chat.dialog([
        ("o-he", "认领 1", claimed(1, "陪老人聊聊天")),
        ("o-li", "完成 1", done(1)),
        ("o-he", "完成 1", done(1)),
    ])
    assert state(app, 1) == ("completed", 0, ["completed", "released", "completed"])


def test_bad_slot_counts_change_nothing(chat, app):
    chat.dialog([
        ("o-wang", "许愿 需要书包", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 80人", "人数要在1到50之间。"),
        ("o-liu", "审核 1 通过 很多人", "人数写法不对，比如：审核 1 通过 3人"),
    ])
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.status, wish.slots) == ("pending_review", 1)
