"""The micro-wish loop end to end, over the real protocol, on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import select

from models import Claim, Notice, Wish, WishEvent

from .world import GRIDWORKERS_KEY, VOLUNTEERS_KEY


def wish_row(app, number: int) -> Wish:
    with app.extensions["wishbot"].db.sessions() as s:
        wish = s.get(Wish, number)
        wish.claims  # load while the session is open
        return wish


def test_wish_to_confirmation(chat, app):
    chat.dialog([("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。")])
    assert wish_row(app, 1).status == "pending_review"
    assert any("#1" in text for text in chat.group_pushes(GRIDWORKERS_KEY))

    chat.dialog([("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。")])
    assert wish_row(app, 1).status == "published"
    published = [t for t in chat.group_pushes(VOLUNTEERS_KEY) if "新心愿 #1" in t]
    assert published and "王**" in published[0]

    chat.dialog([("o-li", "认领 #1",
                  "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。")])
    wish = wish_row(app, 1)
    assert wish.status == "claimed" and [c.status for c in wish.claims] == ["active"]
    assert any("#1" in t and "李建国" in t for t in chat.group_pushes(VOLUNTEERS_KEY))
    to_requester = chat.private_notices("o-wang")
    assert any("已有人认领" in t and "#1" in t for t in to_requester)
    to_claimer = chat.private_notices("o-li")
    assert any("13800000001" in t and "新城小区3号楼401" in t for t in to_claimer)

    chat.dialog([("o-li", "完成 1 已送到家", "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。")])
    assert wish_row(app, 1).status == "completed"
    assert any("确认 1" in t for t in chat.private_notices("o-wang"))

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
    chat.say("o-wang", "许愿 想要一个助听器")
    chat.say("o-liu", "审核 1 通过")
    chat.dialog([("o-wang", "撤回 1", "心愿 #1 已撤回。")])
    assert wish_row(app, 1).status == "withdrawn"

    chat.say("o-wang", "许愿 想要一根拐杖")
    chat.say("o-liu", "审核 2 通过")
    chat.say("o-li", "认领 2")
    chat.dialog([("o-wang", "撤回 2", "心愿#2已有人认领，不能撤回了，请联系网格员。")])
    assert wish_row(app, 2).status == "claimed"


def test_release_reopens_the_wish(chat, app):
    chat.say("o-wang", "许愿 想要一根拐杖")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    assert "已放弃" in chat.say("o-li", "放弃 1")
    wish = wish_row(app, 1)
    assert wish.status == "published" and wish.claims[0].status == "released"
    assert any("重新开放" in t for t in chat.group_pushes(VOLUNTEERS_KEY))
    assert "认领成功" in chat.say("o-chen", "认领 1")


def test_reject_tells_the_requester(chat, app):
    chat.say("o-wang", "许愿 想要一台电视机")
    assert "驳回" in chat.say("o-liu", "审核 1 驳回 超出微心愿范围")
    wish = wish_row(app, 1)
    assert wish.status == "rejected" and wish.reject_reason == "超出微心愿范围"
    assert any("超出微心愿范围" in t for t in chat.private_notices("o-wang"))


def test_lists(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-wang", "心愿 家里水龙头漏水")
    chat.say("o-liu", "审核 2 通过")
    mine = chat.say("o-wang", "我的心愿")
    assert "#1" in mine and "待审核" in mine and "#2" in mine and "待认领" in mine
    open_list = chat.say("o-li", "心愿列表")
    assert "#2" in open_list and "#1" not in open_list and "13800000001" not in open_list
    chat.say("o-li", "认领 2")
    assert "#2" in chat.say("o-li", "我的认领")


def test_query_shows_each_role_what_it_may_see(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    public = chat.say("o-chen", "查询 1")
    assert "#1" in public and "王**" in public and "13800000001" not in public
    staff = chat.say("o-liu", "查询 1")
    assert "13800000001" in staff and "审核发布" in staff
    chat.say("o-li", "认领 1")
    assert "13800000001" in chat.say("o-li", "查询 1")
    chat.say("o-li", "放弃 1")
    assert "13800000001" not in chat.say("o-li", "查询 1")


def test_claims_are_recorded_for_the_unit(chat, app):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    with app.extensions["wishbot"].db.sessions() as s:
        claim = s.scalar(select(Claim))
        assert claim.unit_id == claim.member.unit_id and claim.member.unit.name == "市税务局"
