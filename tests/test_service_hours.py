"""Service hours over the real protocol: reported with the completion or set by the grid
worker, each claimer their own; verified when the wish is confirmed; released claims never
count; 我的服务 shows what counts and what waits."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import select

from models import Claim, Person, Wish, WishEvent, local_time

from .world import add_people, session_of


def today() -> str:
    return local_time(datetime.now(timezone.utc)).strftime("%m-%d")


def claims_of(app, number: int) -> list[tuple[str, str, float | None, str | None]]:
    """(member, status, hours, verified by) per claim of the wish, in order."""
    with session_of(app) as s:
        wish = s.get(Wish, number)
        return [(c.member.name, c.status, c.hours, c.hours_verified_by.name if c.hours_verified_by else None)
                for c in wish.claims]


def api_claims(client, app, number: int) -> list[dict]:
    from models import ApiToken
    from web.api import hash_token

    with app.extensions["wishbot"].db.transaction() as s:
        if not s.scalar(select(ApiToken).where(ApiToken.name == "hours")):
            s.add(ApiToken(name="hours", token_hash=hash_token("hours-token")))
    body = client.get(f"/api/wishes/{number}", headers={"Authorization": "Bearer hours-token"}).json
    return [{k: c[k] for k in ("name", "status", "hours", "hours_verified")} for c in body["claims"]]


def more_members(app) -> None:
    add_people(app, dict(openid="o-ma", role="member", name="马骏", phone="13900000003",
                         community="新城社区", unit="市税务局"),
               dict(openid="o-he", role="member", name="何静", phone="13900000004",
                    community="新城社区", unit="市司法局"))


def test_reported_hours_wait_for_the_confirmation(chat, app, client):
    chat.dialog([
        ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
        ("o-li", "我的服务", "您还没有完成的服务。发「心愿列表」看看可以认领的心愿。"),
        ("o-li", "认领 1", "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-li", "完成 1 已送到 两个半小时",
         "谢谢您！心愿 #1 已报告完成，工时 2.5小时，许愿人确认后核实。可以再发一张照片留作记录。"),
        ("o-li", "我的服务",
         f"李建国，您{local_time(datetime.now(timezone.utc)).year}年的服务记录：\n"
         "已核实工时 0 小时，积分 0 分\n完成心愿 1 个\n待核实工时 2.5 小时（许愿人确认后计入积分）\n"
         f"最近的服务：\n· {today()} #1 需要一副老花镜 2.5小时 待核实"),
    ])
    assert claims_of(app, 1) == [("李建国", "completed", 2.5, None)]
    assert api_claims(client, app, 1) == [{"name": "李建国", "status": "completed", "hours": 2.5,
                                           "hours_verified": False}]
    with session_of(app) as s:
        assert s.scalar(select(Claim.note)) == "已送到"
        assert s.scalar(select(WishEvent.note).where(WishEvent.action == "complete")) == "已送到；工时 2.5小时"

    chat.dialog([
        ("o-wang", "确认 1 很好 5分", "心愿 #1 已确认圆梦，谢谢您！"),
        ("o-li", "我的服务",
         f"李建国，您{local_time(datetime.now(timezone.utc)).year}年的服务记录：\n"
         "已核实工时 2.5 小时，积分 2.5 分\n完成心愿 1 个\n"
         f"最近的服务：\n· {today()} #1 需要一副老花镜 2.5小时 已核实"),
        ("o-li", "完成 1 3小时", "心愿 #1 的工时已核实，要改请联系网格员。"),
    ])
    assert "许愿人已确认心愿 #1，您的工时 2.5小时 已核实。谢谢您！" in chat.private_notices("o-li")
    assert claims_of(app, 1) == [("李建国", "completed", 2.5, "王秀兰")]
    assert api_claims(client, app, 1)[0]["hours_verified"] is True
    with session_of(app) as s:
        claim = s.scalar(select(Claim))
        assert claim.hours_recorded_by.name == "李建国" and claim.hours_verified_at is not None


def test_several_claimers_each_have_their_own_hours(chat, app, client):
    more_members(app)
    chat.dialog([
        ("o-wang", "许愿 小区孩子们需要10个书包", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 3人", "心愿 #1 已发布到志愿者群。"),
    ])
    for member in ("o-li", "o-chen", "o-ma"):
        assert chat.say(member, "认领 1").startswith("认领成功")
    chat.dialog([
        ("o-li", "完成 1 书包送到了 2小时",
         "谢谢您！心愿 #1 已报告完成，工时 2小时，许愿人确认后核实。可以再发一张照片留作记录。"),
        # The grid worker records hours for a claimer still at work; the completion keeps them.
        ("o-liu", "工时 1 陈晓梅 一个半小时", "已记录 陈晓梅 在心愿 #1 的工时：1.5小时（待许愿人确认后核实）。"),
        ("o-chen", "完成 1", "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。"),
        ("o-liu", "工时 1 马骏 3", "已记录 马骏 在心愿 #1 的工时：3小时（待许愿人确认后核实）。"),
        ("o-ma", "放弃 1", "已放弃心愿 #1，它会重新开放给大家认领。"),
        ("o-liu", "工时 1 马骏 3", "心愿 #1 没有叫「马骏」的认领人（放弃了的不记工时）。"),
        ("o-he", "认领 1", "认领成功！心愿 #1：小区孩子们需要10个书包\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-he", "完成1 90分钟", "谢谢您！心愿 #1 已报告完成，工时 1.5小时，许愿人确认后核实。可以再发一张照片留作记录。"),
        ("o-he", "完成 1 一小时", "已记下您在心愿 #1 的工时：1小时，许愿人确认后核实。"),
        ("o-wang", "确认 1", "心愿 #1 已确认圆梦，谢谢您！"),
    ])
    assert claims_of(app, 1) == [
        ("李建国", "completed", 2.0, "王秀兰"), ("陈晓梅", "completed", 1.5, "王秀兰"),
        ("马骏", "released", 3.0, None), ("何静", "completed", 1.0, "王秀兰"),
    ]
    assert [(c["name"], c["hours"], c["hours_verified"]) for c in api_claims(client, app, 1)] == [
        ("李建国", 2.0, True), ("陈晓梅", 1.5, True), ("马骏", 3.0, False), ("何静", 1.0, True)]
    chat.dialog([("o-chen", "我的服务",
                  f"陈晓梅，您{local_time(datetime.now(timezone.utc)).year}年的服务记录：\n"
                  "已核实工时 1.5 小时，积分 1.5 分\n完成心愿 1 个\n"
                  f"最近的服务：\n· {today()} #1 小区孩子们需要10个书包 1.5小时 已核实")])
    assert chat.say("o-ma", "我的服务") == "您还没有完成的服务。发「心愿列表」看看可以认领的心愿。"
    with session_of(app) as s:
        notes = s.scalars(select(WishEvent.note).where(WishEvent.action == "hours").order_by(WishEvent.id)).all()
    assert notes == ["陈晓梅 1.5小时", "马骏 3小时", "何静 1小时"]


def test_a_reopened_wish_counts_only_the_claims_that_stand(chat, app):
    chat.dialog([
        ("o-wang", "许愿 陪老人聊聊天", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 2人", "心愿 #1 已发布到志愿者群。"),
    ])
    chat.say("o-li", "认领 1")
    chat.say("o-chen", "认领 1")
    chat.dialog([
        ("o-li", "完成 1 2小时", "谢谢您！心愿 #1 已报告完成，工时 2小时，许愿人确认后核实。可以再发一张照片留作记录。"),
        ("o-liu", "工时 1 陈晓梅 4", "已记录 陈晓梅 在心愿 #1 的工时：4小时（待许愿人确认后核实）。"),
        ("o-chen", "放弃 1", "已放弃心愿 #1，它会重新开放给大家认领。"),
    ])
    with session_of(app) as s:
        assert s.get(Wish, 1).status == "published"  # reopened: one slot free again
    # The same member comes back: a new claim, with nothing carried over from the released one.
    chat.say("o-chen", "认领 1")
    chat.dialog([
        ("o-chen", "完成 1 已陪聊 1小时", "谢谢您！心愿 #1 已报告完成，工时 1小时，许愿人确认后核实。可以再发一张照片留作记录。"),
        ("o-liu", "确认 1 老人很开心", "已代 王秀兰 确认心愿 #1。"),
        # Staff may correct verified hours; they vouch for the new figure.
        ("o-liu", "工时 1 李建国 1.5", "已记录 李建国 在心愿 #1 的工时：1.5小时（已核实）。"),
    ])
    assert claims_of(app, 1) == [("李建国", "completed", 1.5, "刘芳"), ("陈晓梅", "released", 4.0, None),
                                 ("陈晓梅", "completed", 1.0, "刘芳")]
    # The released claim's 4 hours count nowhere.
    chat.dialog([("o-chen", "我的服务",
                  f"陈晓梅，您{local_time(datetime.now(timezone.utc)).year}年的服务记录：\n"
                  "已核实工时 1 小时，积分 1 分\n完成心愿 1 个\n"
                  f"最近的服务：\n· {today()} #1 陪老人聊聊天 1小时 已核实")])


def test_a_member_who_completed_a_wish_cannot_take_another_of_its_slots(chat, app):
    """One person, one report and one set of hours per wish: claiming again after 完成 would
    fill the wish alone and count their hours twice. A correction is 完成 N X小时 again."""
    chat.dialog([
        ("o-wang", "许愿 陪老人聊聊天", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 2人", "心愿 #1 已发布到志愿者群。"),
    ])
    chat.say("o-li", "认领 1")
    chat.dialog([
        ("o-li", "完成 1 2小时", "谢谢您！心愿 #1 已报告完成，工时 2小时，许愿人确认后核实。可以再发一张照片留作记录。"),
        ("o-li", "认领 1", "您已完成心愿 #1，不能再认领。要更正工时，请发：完成 1 2小时"),
        ("o-liu", "派单 1 李建国", "李建国已经完成了心愿 #1，不能再派给TA。"),
        ("o-li", "完成 1 3小时", "已记下您在心愿 #1 的工时：3小时，许愿人确认后核实。"),
    ])
    assert claims_of(app, 1) == [("李建国", "completed", 3.0, None)]
    with session_of(app) as s:
        assert s.get(Wish, 1).status == "published"  # the other slot is still open to others
    assert chat.say("o-chen", "认领 1").startswith("认领成功")


def test_bad_hours_change_nothing(chat, app):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    chat.dialog([
        ("o-li", "完成 1 三十小时", "工时要在0到24小时之间。"),
        ("o-li", "工时 1 李建国 2", "「工时」不是您能用的命令。发「帮助」看看您能做什么。"),
        ("o-liu", "工时 1 李建国", "请这样写：工时 12 李明 2（12 是心愿编号，2 是小时数）"),
        ("o-liu", "工时 1 李建国 很久", "请这样写：工时 12 李明 2（12 是心愿编号，2 是小时数）"),
        ("o-liu", "工时 1 张三 2", "心愿 #1 没有叫「张三」的认领人（放弃了的不记工时）。"),
        ("o-zhou", "工时 1 李建国 2", "心愿 #1 不在您负责的网格。"),
        ("o-chen", "完成 1 2小时", "您没有认领心愿 #1。"),
    ])
    assert claims_of(app, 1) == [("李建国", "active", None, None)]
    with session_of(app) as s:
        assert s.scalars(select(WishEvent.action).where(WishEvent.action == "hours")).all() == []
