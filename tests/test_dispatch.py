"""派单: a grid worker assigns a wish to a member, who may give it back."""
from __future__ import annotations

from sqlalchemy import func, select

from models import Claim, Wish

from .world import VOLUNTEERS_KEY, add_people, assert_no_secrets, session_of


def claims_of(app, number: int) -> tuple[str, list[tuple[str, str, str | None]]]:
    with session_of(app) as s:
        wish = s.get(Wish, number)
        return wish.status, [(c.member.openid, c.status, c.assigned_by.openid if c.assigned_by else None)
                             for c in wish.claims]


def published_wish(chat) -> None:
    chat.say("o-wang", "许愿 需要一根拐杖")
    chat.say("o-liu", "审核 1 通过")


def test_assign_tell_the_member_and_the_group(chat, app):
    published_wish(chat)
    reply = chat.say("o-liu", "派单 1 李建国")
    assert "#1" in reply and "李建国" in reply
    assert claims_of(app, 1) == ("claimed", [("o-li", "active", "o-liu")])
    told = [t for t in chat.private_notices("o-li") if "#1" in t]
    assert told and "刘芳" in told[0] and "13800000001" in told[0] and "放弃 1" in told[0]
    assert any("#1" in t and "已派给 李建国" in t for t in chat.group_pushes(VOLUNTEERS_KEY))
    assert any("#1" in t and "已有人认领" in t for t in chat.private_notices("o-wang"))

    # The member gives it back: it reopens and the grid worker hears of it.
    assert "#1" in chat.say("o-li", "放弃 1")
    assert claims_of(app, 1) == ("published", [("o-li", "released", "o-liu")])
    assert "您派的心愿 #1，李建国放弃了认领。可以改派给别人：派单 1 加志愿者姓名" in chat.private_notices("o-liu")
    assert any("#1" in t and "重新开放" in t for t in chat.group_pushes(VOLUNTEERS_KEY))
    assert_no_secrets(chat.group_pushes())


def test_assign_by_phone_when_names_clash(chat, app):
    add_people(app, dict(openid="o-li2", role="member", name="李建国", phone="13900000009",
                         community="新城社区", unit="市司法局"))
    published_wish(chat)
    assert "请写手机号" in chat.say("o-liu", "派单 1 李建国")
    assert "#1" in chat.say("o-liu", "派单 1 13900000009")
    assert claims_of(app, 1) == ("claimed", [("o-li2", "active", "o-liu")])
    with session_of(app) as s:
        assert s.scalar(select(Claim)).unit.name == "市司法局"  # the claim counts for the member's unit


def test_refusals_and_bad_input_change_nothing(chat, app):
    chat.say("o-wang", "许愿 需要一根拐杖")
    assert chat.say("o-liu", "派单 1 李建国") == "心愿 #1 还在等网格员审核，发布后才能认领。"
    chat.say("o-liu", "审核 1 通过")
    refusal = chat.say("o-li", "派单 1 陈晓梅")
    assert "不是您能用的命令" in refusal and "\n" not in refusal
    assert "不在您负责的网格" in chat.say("o-zhou", "派单 1 李建国")
    assert "没有找到志愿者「张三」" in chat.say("o-liu", "派单 1 张三")
    assert chat.say("o-liu", "派单 1") == "请这样写：派单 12 李建国（12 是心愿编号）"
    assert "没有找到心愿 #9" in chat.say("o-liu", "派单 9 李建国")
    assert "没有找到志愿者「王秀兰」" in chat.say("o-liu", "派单 1 王秀兰")  # a resident is no member
    with session_of(app) as s:
        assert s.scalar(select(func.count(Claim.id))) == 0
        assert s.get(Wish, 1).status == "published"

    chat.say("o-liu", "派单 1 李建国")
    assert "已被认领" in chat.say("o-liu", "派单 1 陈晓梅")
    assert claims_of(app, 1) == ("claimed", [("o-li", "active", "o-liu")])


def test_a_member_without_wechat_is_told_through_a_grid_worker(chat, app):
    from handlers import directory

    with app.extensions["wishbot"].db.transaction() as s:
        directory.add_person(s, None, "member", "李四", phone="13912340000", community="新城社区")
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    assert "请电话通知" in chat.say("o-liu", "派单 1 李四")
    relayed = [t for t in chat.private_notices("o-liu") if "请转告 李四" in t]
    assert relayed and "13912340000" in relayed[0] and "#1" in relayed[0]



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
