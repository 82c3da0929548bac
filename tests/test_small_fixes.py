"""What a new user noticed, each reproduced first: duplicate notices, the resident left
uninformed, the digest, Chinese role names in the roster, help in examples, wrong-state replies."""
from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from handlers import ROUTER
from handlers.roster import HEADINGS, import_people, read_rows
from models import Claim, Person, Wish, utcnow

from .replies import HELP
from .test_roster import csv_bytes
from .world import GRIDWORKERS_KEY, VOLUNTEERS_KEY, add_people, session_of

REOPENED = "心愿 #1 重新开放认领：需要一副老花镜\n回复「认领 1」认领。"


def backdate(app, model, column: str, where, days: float) -> None:
    with app.extensions["wishbot"].db.transaction() as s:
        s.execute(update(model).where(where).values({column: utcnow() - timedelta(days=days)}))


def published(chat, slots: str = "") -> None:
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", f"审核 1 通过{slots}")


# --- duplicates ------------------------------------------------------------------------------


def test_a_registration_reaches_the_grid_worker_once(chat, staff):
    # The community's dashboard-only staff (no WeChat) used to be relayed through 刘芳: twice.
    chat.say("o-new", "报到 张明 市税务局 13912345678 新城社区")
    assert chat.private_notices("o-liu") == [
        "新的报到申请 R1：张明（市税务局，13912345678）到新城社区报到。\n回复「审核 R1 通过」或「审核 R1 驳回 原因」。"]


def test_recording_a_wish_for_a_resident_does_not_notify_the_recorder(chat):
    assert chat.say("o-liu", "代许愿 张桂兰 13812345678 需要一个助听器") == (
        "已为 张桂兰 登记心愿 #1，已发布到志愿者群。有消息会发给您转告。")
    assert chat.private_notices("o-liu") == []
    assert len(chat.group_pushes(VOLUNTEERS_KEY)) == 1


def test_an_auto_release_of_a_three_slot_wish_is_one_push_and_one_word_to_the_resident(chat, app):
    add_people(app, {"openid": "o-wu", "role": "member", "name": "吴志刚", "community": "新城社区"})
    published(chat, " 3人")
    for member in ("o-li", "o-chen", "o-wu"):
        chat.say(member, "认领 1")
    backdate(app, Claim, "created_at", Claim.wish_id == 1, 15)
    app.extensions["wishbot"].send_reminders()
    assert chat.group_pushes(VOLUNTEERS_KEY).count(REOPENED) == 1
    assert [t for t in chat.private_notices("o-wang") if "重新开放" in t] == [
        "您的心愿 #1，李建国（市税务局）、陈晓梅（市司法局）、吴志刚认领14天没有完成，已自动取消。"
        "心愿已重新开放，会有其他志愿者来认领。"]
    with session_of(app) as s:
        assert s.get(Wish, 1).status == "published"


# --- the resident is told ----------------------------------------------------------------------


def test_the_resident_is_told_when_a_claimer_gives_up(chat):
    published(chat)
    chat.say("o-li", "认领 1")
    assert chat.say("o-li", "放弃 1") == "已放弃心愿 #1，它会重新开放给大家认领。"
    assert chat.private_notices("o-wang")[-1] == (
        "您的心愿 #1，李建国（市税务局）放弃了认领。心愿已重新开放，会有其他志愿者来认领。")
    assert chat.say("o-li", "放弃 1") == "您对心愿 #1 的认领已经放弃了（自己放弃或超时自动放弃）。"


# --- the digest --------------------------------------------------------------------------------


def test_the_digest_is_a_list_without_turned_down_wishes_and_a_grid_without_robot_logs_it(chat, app, caplog):
    chat.say("o-wang", "许愿 需要一副老花镜")  # 1: rejected
    chat.say("o-liu", "审核 1 驳回 不属于微心愿")
    chat.say("o-wang", "许愿 需要一个轮椅")    # 2: withdrawn
    chat.say("o-wang", "撤回 2")
    chat.say("o-wang", "许愿 需要一床棉被")    # 3: published: new
    chat.say("o-liu", "审核 3 通过")
    chat.say("o-wang", "许愿 需要一个书包")    # 4: published: new
    chat.say("o-liu", "审核 4 通过")
    chat.say("o-zhao", "许愿 想要一根拐杖")    # 第二网格: no robot
    with caplog.at_level(logging.INFO):
        app.extensions["wishbot"].send_digests()
        chat.settle()
    [text] = [t for t in chat.group_pushes(GRIDWORKERS_KEY) if "每日汇总" in t]
    assert text.splitlines() == ["【每日汇总】新城社区/第一网格", "新心愿 2 个：", "· #3 需要一床棉被", "· #4 需要一个书包"]
    assert "【每日汇总】新城社区/第二网格\n待审核 1 个：\n· #5 想要一根拐杖" in caplog.text


# --- the roster ----------------------------------------------------------------------------------


@pytest.mark.parametrize("said, role", [("居民", "resident"), ("志愿者", "member"), ("党员", "member"),
                                        ("网格员", "gridworker"), ("管理员", "admin"), ("member", "member")])
def test_roster_import_takes_the_role_names_the_roster_page_shows(app, world, said, role):
    rows = read_rows("people.csv", csv_bytes([["o-x", said, "钱玉珍", "", "新城社区", "", "", ""]], HEADINGS))
    with session_of(app) as s, s.begin():
        import_people(s, rows)
    with session_of(app) as s:
        assert s.scalar(select(Person).where(Person.openid == "o-x")).roles == role


def test_an_unknown_role_is_refused_naming_the_chinese_ones(app, world):
    from handlers.roster import ImportFailed

    rows = read_rows("people.csv", csv_bytes([["o-x", "义工", "钱玉珍", "", "新城社区", "", "", ""]], HEADINGS))
    with session_of(app) as s, s.begin(), pytest.raises(ImportFailed) as failed:
        import_people(s, rows)
    assert str(failed.value.errors[0]) == "第2行：角色只能是 居民、志愿者、网格员、管理员（或 resident|member|gridworker|admin）：义工"


# --- help and usage in examples ------------------------------------------------------------------


def test_help_speaks_in_examples(chat):
    for usage in ROUTER.usages_for({"resident", "member", "gridworker", "admin"}):
        head = usage.split(" —— ")[0]
        assert " N" not in head and "[" not in head and "K人" not in head, usage
    assert chat.say("o-li", "帮助") == HELP["member"]
    assert chat.say("o-li", "认领") == "请这样写：认领 12（12 是心愿编号）"
    assert chat.say("o-liu", "审核 1") == "请这样写：审核 12 通过，或 审核 12 驳回 原因"


# --- wrong-state replies --------------------------------------------------------------------------


def test_wrong_state_replies_say_what_happened(chat, app):
    published(chat)
    assert chat.say("o-wang", "撤回 1") == "心愿 #1 已撤回。"
    assert chat.say("o-wang", "撤回 1") == "心愿 #1 已经撤回了。"
    assert chat.say("o-li", "认领 1") == "心愿 #1 已经由许愿人撤回了。"
    chat.say("o-wang", "许愿 需要一个轮椅")
    assert chat.say("o-li", "认领 2") == "心愿 #2 还在等网格员审核，发布后才能认领。"
    assert chat.say("o-wang", "确认 2") == "心愿 #2 还没有完成（现在是「待审核」），完成后才能确认。"
    chat.say("o-liu", "审核 2 通过")
    assert chat.say("o-liu", "审核 2 通过") == "心愿 #2 已经审核过了，现在是「待认领」。"


def test_a_rating_outside_one_to_five_is_asked_again_and_nothing_changes(chat, app):
    published(chat)
    chat.say("o-li", "认领 1")
    chat.say("o-li", "完成 1")
    assert chat.say("o-wang", "确认 1 不错 8分") == "评分请写 1 到 5 分，比如：确认 12 很满意 5分"
    with session_of(app) as s:
        assert s.get(Wish, 1).status == "completed"
    assert chat.say("o-wang", "确认 1 不错 五分") == "心愿 #1 已确认圆梦，谢谢您！"
    with session_of(app) as s:
        assert (s.get(Wish, 1).feedback, s.get(Wish, 1).rating) == ("不错", 5)
    assert chat.say("o-wang", "确认 1") == "心愿 #1 已经确认过了，谢谢您！"
