"""The timeline: every change, who made it, when, through which channel, before and after."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import ApiToken, WishEvent
from web.api import hash_token

from .world import session_of, stamps


@pytest.fixture
def token(app) -> str:
    with app.extensions["wishbot"].db.transaction() as s:
        s.add(ApiToken(name="timeline", token_hash=hash_token("timeline-token")))
    return "timeline-token"


def whole_story(chat) -> None:
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "分类 1 生活用品")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    chat.say("o-li", "放弃 1")
    chat.say("o-liu", "派单 1 陈晓梅")
    chat.say("o-chen", "完成 1 已配好送到家")
    chat.say("o-wang", "确认 1 看得清楚了 5分")


def test_every_change_is_kept(chat, app):
    whole_story(chat)
    with session_of(app) as s:
        events = s.scalars(select(WishEvent).where(WishEvent.wish_id == 1).order_by(WishEvent.id)).all()
        rows = [(e.actor.openid, e.channel, e.action, e.before, e.after) for e in events]
    assert rows == [
        ("o-wang", "wechat", "submit", None, "pending_review"),
        ("o-liu", "wechat", "category", "pending_review", "pending_review"),
        ("o-liu", "wechat", "publish", "pending_review", "published"),
        ("o-li", "wechat", "claim", "published", "claimed"),
        ("o-li", "wechat", "release", "claimed", "published"),
        ("o-liu", "wechat", "assign", "published", "claimed"),
        ("o-chen", "wechat", "complete", "claimed", "completed"),
        ("o-wang", "wechat", "confirm", "completed", "confirmed"),
    ]


def test_staff_read_the_timeline_in_chat(chat, app):
    whole_story(chat)
    card = ("心愿 #1（已圆梦）\n需要一副老花镜\n类别：生活用品·一般\n社区网格：新城社区/第一网格\n许愿人：{}\n"
            "认领：陈晓梅（已完成）")
    at = stamps(app, 1)
    chat.dialog([
        ("o-liu", "查询 1", card.format("王秀兰，13800000001，新城小区3号楼401") + "\n评价：看得清楚了，5分\n" + "\n".join([
            f"· {at[0]} 王秀兰（微信）提交心愿：待审核",
            f"· {at[1]} 刘芳（微信）修改类别：医疗器械 → 生活用品",
            f"· {at[2]} 刘芳（微信）审核发布：待审核→待认领",
            f"· {at[3]} 李建国（微信）认领：待认领→已认领",
            f"· {at[4]} 李建国（微信）放弃认领：已认领→待认领",
            f"· {at[5]} 刘芳（微信）派单：待认领→已认领，派给 陈晓梅",
            f"· {at[6]} 陈晓梅（微信）报告完成：已认领→已完成，待确认，已配好送到家",
            f"· {at[7]} 王秀兰（微信）确认圆梦：已完成，待确认→已圆梦，看得清楚了"])),
        ("o-li", "查询 1", card.format("王**")),  # not staff: no timeline, no feedback, no contact
    ])


def test_the_api_carries_the_timeline(chat, client, token):
    whole_story(chat)
    data = client.get("/api/wishes/1", headers={"Authorization": f"Bearer {token}"}).get_json()
    timeline = data["timeline"]
    assert [e["action"] for e in timeline] == [
        "submit", "category", "publish", "claim", "release", "assign", "complete", "confirm"]
    assign = timeline[5]
    assert (assign["label"], assign["actor"], assign["channel"], assign["channel_label"],
            assign["before"], assign["after"], assign["note"]) == (
        "派单", "刘芳", "wechat", "微信", "published", "claimed", "派给 陈晓梅")
    assert assign["at"].endswith("+08:00")
    listed = client.get("/api/wishes", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert len(listed["wishes"][0]["timeline"]) == 8
