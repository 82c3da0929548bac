"""双报到: a party member registers with a community and a grid worker decides."""
from __future__ import annotations

from sqlalchemy import func, select

from models import Person, Registration, Unit

from .world import session_of


def registration(app, number: int) -> Registration:
    with session_of(app) as s:
        row = s.get(Registration, number)
        row.person, row.community  # load while the session is open
        return row


def person(app, openid: str) -> Person:
    with session_of(app) as s:
        row = s.scalar(select(Person).where(Person.openid == openid))
        row.unit, row.community
        return row


def test_register_with_a_named_community_and_approve(chat, app):
    reply = chat.say("o-new", "报到 张明 市税务局 13912345678 新城社区")
    assert "R1" in reply and "新城社区" in reply
    stored = registration(app, 1)
    assert (stored.status, stored.name, stored.phone, stored.community.name) == (
        "pending", "张明", "13912345678", "新城社区")
    told = chat.private_notices("o-liu")
    assert any("R1" in t and "张明" in t and "审核 R1 通过" in t for t in told)
    assert not any("R1" in t for t in chat.private_notices("o-zhou"))  # another community's worker

    reply = chat.say("o-liu", "审核 R1 通过")
    assert "R1" in reply and "张明" in reply
    assert registration(app, 1).status == "approved"
    assert any("R1" in t and "已通过" in t for t in chat.private_notices("o-new"))
    member = person(app, "o-new")
    assert member.role_set == {"resident", "member"}
    assert (member.name, member.phone, member.unit.name, member.community.name) == (
        "张明", "13912345678", "市税务局", "新城社区")

    # Several roles: the same person may now claim wishes and still make their own.
    assert "没有待认领的心愿" in chat.say("o-new", "心愿列表")
    assert "#1" in chat.say("o-new", "许愿 家里灯泡坏了")
    help_text = chat.say("o-new", "帮助")
    assert "认领 12" in help_text and "许愿 需要一副老花镜" in help_text and "派单" not in help_text


def test_several_communities_and_none_named_asks_which(chat, app):
    reply = chat.say("o-new", "报到 张明 市教育局 13912345678")
    assert "R1" in reply and "新城社区" in reply and "东山社区" in reply and "哪个社区" in reply
    assert registration(app, 1).community is None
    assert not any("R1" in t for t in chat.private_notices("o-liu") + chat.private_notices("o-zhou"))

    reply = chat.say("o-new", "东山社区")
    assert "R1" in reply and "东山社区" in reply
    assert registration(app, 1).community.name == "东山社区"
    assert any("R1" in t for t in chat.private_notices("o-zhou"))
    assert not any("R1" in t for t in chat.private_notices("o-liu"))

    assert "不在您负责的社区" in chat.say("o-liu", "审核 R1 通过")
    assert registration(app, 1).status == "pending"

    reply = chat.say("o-zhou", "审核 R1 驳回 单位信息不符")
    assert "R1" in reply and "驳回" in reply
    stored = registration(app, 1)
    assert (stored.status, stored.reason) == ("rejected", "单位信息不符")
    assert any("R1" in t and "单位信息不符" in t for t in chat.private_notices("o-new"))
    assert person(app, "o-new").role_set == {"resident"}


def test_approval_creates_the_partner_unit(chat, app):
    chat.say("o-new", "报到 张明 市教育局 13912345678 新城社区")
    chat.say("o-liu", "审核R1通过")
    assert person(app, "o-new").unit.name == "市教育局"
    with session_of(app) as s:
        assert s.scalar(select(func.count(Unit.id)).where(Unit.name == "市教育局")) == 1


def test_bad_registrations_change_nothing(chat, app):
    assert "手机号格式不对" in chat.say("o-new", "报到 张明 市税务局 12345 新城社区")
    assert "没有「西城社区」这个社区" in chat.say("o-new", "报到 张明 市税务局 13912345678 西城社区")
    assert chat.say("o-new", "报到") == "请这样写：报到 张明 市税务局 13912345678（姓名 单位 手机号）"
    assert chat.say("o-new", "报到 张明") == "请这样写：报到 张明 市税务局 13912345678（姓名 单位 手机号）"
    with session_of(app) as s:
        assert s.scalar(select(func.count(Registration.id))) == 0

    chat.say("o-new", "报到 张明 市税务局 13912345678 新城社区")
    again = chat.say("o-new", "报到 张明 市税务局 13912345678 新城社区")
    assert "R1" in again and "审核中" in again
    assert "已经是新城社区的志愿者" in chat.say("o-li", "报到 李建国 市税务局 13900000001 新城社区")
    with session_of(app) as s:
        assert s.scalar(select(func.count(Registration.id))) == 1

    refusal = chat.say("o-li", "审核 R1 通过")
    assert "不是您能用的命令" in refusal and "\n" not in refusal
    assert "请写上驳回原因" in chat.say("o-liu", "审核 R1 驳回")
    assert "没有找到报到申请 R9" in chat.say("o-liu", "审核 R9 通过")
    assert registration(app, 1).status == "pending"

    chat.say("o-liu", "审核 R1 通过")
    assert "已经处理过了" in chat.say("o-liu", "审核 R1 驳回 重复")
    assert registration(app, 1).status == "approved"
