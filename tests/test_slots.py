"""Several claimers: a wish with K slots stays open until every slot is taken and is completed
when every active claim is. Claims count for the member and for their partner unit."""
from __future__ import annotations

from sqlalchemy import func, select

from models import Claim, Unit, Wish

from .world import VOLUNTEERS_KEY, add_people, assert_no_secrets, session_of


def state(app, number: int) -> tuple[str, int, list[str]]:
    with session_of(app) as s:
        wish = s.get(Wish, number)
        return wish.status, wish.open_slots, [c.status for c in wish.claims]


def three_members(app) -> None:
    add_people(app, dict(openid="o-ma", role="member", name="马骏", phone="13900000003",
                         community="新城社区", unit="市税务局"),
               dict(openid="o-he", role="member", name="何静", phone="13900000004",
                        community="新城社区", unit="市司法局"))


def test_three_slots_fill_then_complete(chat, app):
    three_members(app)
    chat.say("o-wang", "许愿 小区孩子们需要10个书包")
    assert "#1" in chat.say("o-liu", "审核 1 通过 3人")
    assert any("#1" in t and "需要3人" in t for t in chat.group_pushes(VOLUNTEERS_KEY))

    assert "认领成功" in chat.say("o-li", "认领 1")
    assert "认领成功" in chat.say("o-chen", "认领1")
    assert state(app, 1) == ("published", 1, ["active", "active"])
    assert any("#1" in t and "还差1人" in t for t in chat.group_pushes(VOLUNTEERS_KEY))
    assert "您已认领心愿 #1" in chat.say("o-li", "认领 1")

    assert "认领成功" in chat.say("o-ma", "认领 #1")
    assert state(app, 1) == ("claimed", 0, ["active", "active", "active"])
    assert "已被认领" in chat.say("o-he", "认领 1")
    assert state(app, 1)[2] == ["active", "active", "active"]

    chat.say("o-li", "完成 1")
    chat.say("o-chen", "完成 1")
    assert state(app, 1) == ("claimed", 0, ["completed", "completed", "active"])
    assert not any("确认 1" in t for t in chat.private_notices("o-wang"))
    chat.say("o-ma", "完成 1 书包已发到孩子手里")
    assert state(app, 1) == ("completed", 0, ["completed", "completed", "completed"])
    assert any("确认 1" in t for t in chat.private_notices("o-wang"))

    with session_of(app) as s:
        by_unit = dict(s.execute(select(Unit.name, func.count(Claim.id)).join(Claim, Claim.unit_id == Unit.id)
                                 .group_by(Unit.name)).all())
    assert by_unit == {"市税务局": 2, "市司法局": 1}
    assert "市税务局（2次）" in chat.say("o-liu", "统计")
    assert_no_secrets(chat.group_pushes())


def test_a_released_slot_reopens_a_full_wish(chat, app):
    three_members(app)
    chat.say("o-wang", "许愿 陪老人聊聊天")
    chat.say("o-liu", "审核 1 通过 2人")
    chat.say("o-li", "认领 1")
    chat.say("o-liu", "派单 1 陈晓梅")
    assert state(app, 1) == ("claimed", 0, ["active", "active"])
    chat.say("o-chen", "放弃 1")
    assert state(app, 1) == ("published", 1, ["active", "released"])
    assert "认领成功" in chat.say("o-he", "认领 1")
    chat.say("o-li", "完成 1")
    chat.say("o-he", "完成 1")
    assert state(app, 1) == ("completed", 0, ["completed", "released", "completed"])


def test_bad_slot_counts_change_nothing(chat, app):
    chat.say("o-wang", "许愿 需要书包")
    assert "人数要在1到50之间" in chat.say("o-liu", "审核 1 通过 80人")
    assert "人数写法不对" in chat.say("o-liu", "审核 1 通过 很多人")
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.status, wish.slots) == ("pending_review", 1)
