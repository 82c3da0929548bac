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
    chat.dialog([("o-new", "报到 张明 市税务局 13912345678 新城社区",
                  "收到您的报到申请 R1（新城社区），审核通过后会通知您。")])
    stored = registration(app, 1)
    assert (stored.status, stored.name, stored.phone, stored.community.name) == (
        "pending", "张明", "13912345678", "新城社区")
    assert chat.private_notices("o-liu") == [
        "新的报到申请 R1：张明（市税务局，13912345678）到新城社区报到。\n回复「审核 R1 通过」或「审核 R1 驳回 原因」。"]
    assert chat.private_notices("o-zhou") == []  # another community's worker

    chat.dialog([("o-liu", "审核 R1 通过", "报到申请 R1 已通过，张明 成为志愿者，已通知本人。")])
    assert registration(app, 1).status == "approved"
    assert chat.private_notices("o-new") == [
        "您的报到申请 R1 已通过，欢迎成为新城社区的志愿者！发「心愿列表」看看可以认领的心愿。"]
    member = person(app, "o-new")
    assert member.role_set == {"resident", "member"}
    assert (member.name, member.phone, member.unit.name, member.community.name) == (
        "张明", "13912345678", "市税务局", "新城社区")

    # Several roles: the same person may now claim wishes and still make their own.
    chat.dialog([
        ("o-new", "心愿列表", "现在没有待认领的心愿，谢谢关心！"),
        ("o-new", "许愿 家里灯泡坏了", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-new", "帮助", "您可以发：\n"
         "帮助 —— 查看用法\n"
         "许愿 需要一副老花镜 —— 提交心愿，也可以直接说您需要什么\n"
         "我的心愿 —— 查看我的心愿\n"
         "撤回 12 —— 撤回还没人认领的12号心愿\n"
         "确认 12 很满意 5分 —— 确认12号心愿已实现，评价和1-5分可不写\n"
         "心愿列表 —— 看看可以认领的心愿（心愿列表 2 看第2页）\n"
         "认领 12 —— 认领12号心愿\n"
         "放弃 12 —— 放弃认领12号心愿\n"
         "完成 12 已送到 2小时 —— 报告12号心愿已完成和服务时长（说明、时长可不写）；可再发一张照片\n"
         "我的认领 —— 查看我认领的心愿\n"
         "查询 12 —— 查看12号心愿\n"
         "报到 张明 市税务局 13912345678 —— 在职党员到社区报到（双报到），可在最后加社区名\n"
         "我的服务 —— 我今年的服务时长、积分和最近的服务"),
    ])


def test_several_communities_and_none_named_asks_which(chat, app):
    chat.dialog([("o-new", "报到 张明 市教育局 13912345678",
                  "您的报到申请 R1 已记下。请问到哪个社区报到？请回复社区名称（新城社区、东山社区），比如：报到 新城社区")])
    assert registration(app, 1).community is None
    assert chat.private_notices("o-liu") + chat.private_notices("o-zhou") == []

    chat.dialog([("o-new", "东山社区", "收到您的报到申请 R1（东山社区），审核通过后会通知您。")])
    assert registration(app, 1).community.name == "东山社区"
    assert chat.private_notices("o-zhou") == [
        "新的报到申请 R1：张明（市教育局，13912345678）到东山社区报到。\n回复「审核 R1 通过」或「审核 R1 驳回 原因」。"]
    assert chat.private_notices("o-liu") == []

    chat.dialog([("o-liu", "审核 R1 通过", "报到申请 R1 不在您负责的社区。")])
    assert registration(app, 1).status == "pending"

    chat.dialog([("o-zhou", "审核 R1 驳回 单位信息不符", "报到申请 R1 已驳回，已通知本人。")])
    stored = registration(app, 1)
    assert (stored.status, stored.reason) == ("rejected", "单位信息不符")
    assert chat.private_notices("o-new") == ["您的报到申请 R1 未通过：单位信息不符。有疑问请联系社区。"]
    assert person(app, "o-new").role_set == {"resident"}


def test_approval_creates_the_partner_unit(chat, app):
    chat.dialog([
        ("o-new", "报到 张明 市教育局 13912345678 新城社区", "收到您的报到申请 R1（新城社区），审核通过后会通知您。"),
        ("o-liu", "审核R1通过", "报到申请 R1 已通过，张明 成为志愿者，已通知本人。"),
    ])
    assert person(app, "o-new").unit.name == "市教育局"
    with session_of(app) as s:
        assert s.scalar(select(func.count(Unit.id)).where(Unit.name == "市教育局")) == 1


def test_bad_registrations_change_nothing(chat, app):
    chat.dialog([
        ("o-new", "报到 张明 市税务局 12345 新城社区", "手机号格式不对：12345"),
        ("o-new", "报到 张明 市税务局 13912345678 西城社区", "没有「西城社区」这个社区。可选：新城社区、东山社区"),
        ("o-new", "报到", "请这样写：报到 张明 市税务局 13912345678（姓名 单位 手机号）"),
        ("o-new", "报到 张明", "请这样写：报到 张明 市税务局 13912345678（姓名 单位 手机号）"),
    ])
    with session_of(app) as s:
        assert s.scalar(select(func.count(Registration.id))) == 0

    chat.dialog([
        ("o-new", "报到 张明 市税务局 13912345678 新城社区", "收到您的报到申请 R1（新城社区），审核通过后会通知您。"),
        ("o-new", "报到 张明 市税务局 13912345678 新城社区", "您的报到申请 R1 还在审核中，请耐心等待。"),
        ("o-li", "报到 李建国 市税务局 13900000001 新城社区", "您已经是新城社区的志愿者了，不用再报到。"),
    ])
    with session_of(app) as s:
        assert s.scalar(select(func.count(Registration.id))) == 1

    chat.dialog([
        ("o-li", "审核 R1 通过", "「审核」不是您能用的命令。发「帮助」看看您能做什么。"),
        ("o-liu", "审核 R1 驳回", "请写上驳回原因，比如：审核 R1 驳回 信息不全"),
        ("o-liu", "审核 R9 通过", "没有找到报到申请 R9。"),
    ])
    assert registration(app, 1).status == "pending"

    chat.dialog([
        ("o-liu", "审核 R1 通过", "报到申请 R1 已通过，张明 成为志愿者，已通知本人。"),
        ("o-liu", "审核 R1 驳回 重复", "报到申请 R1 已经处理过了。"),
    ])
    assert registration(app, 1).status == "approved"
