"""The grid workers' daily digest, reminders to claimers, and claims released when left idle;
on SQLite and PostgreSQL, delivered to a real local server. (The worker's scheduler sending
them is in test_worker.py.)"""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update

from bot.db import Database
from handlers.digest import send_digests, send_reminders
from handlers.context import Context
from handlers.wishes import new_wish
from models import Claim, Notice, Person, Wish, WishEvent, utcnow

from .world import GRIDWORKERS_KEY, VOLUNTEERS_KEY, build_world

WISHBOT = str(Path(sys.executable).with_name("wishbot"))


def backdate(runtime, model, column: str, where, days: float) -> None:
    with runtime.db.transaction() as session:
        session.execute(update(model).where(where).values({column: utcnow() - timedelta(days=days)}))


def digests(runtime) -> list[Notice]:
    with runtime.db.sessions() as session:
        return list(session.scalars(select(Notice).where(Notice.event == "digest").order_by(Notice.id)))


def test_the_digest_tells_each_grid_what_needs_attention(chat, app):
    runtime = app.extensions["wishbot"]
    chat.say("o-wang", "许愿 我是王秀兰，电话13800000001，需要一副老花镜")  # 1: waiting for review
    chat.say("o-wang", "许愿 家里水龙头漏水")  # 2: published 4 days ago, unclaimed
    chat.say("o-liu", "审核 2 通过")
    chat.say("o-wang", "许愿 想请人上门理发")  # 3: claimed 8 days ago
    chat.say("o-liu", "审核 3 通过")
    chat.say("o-li", "认领 3")
    chat.say("o-zhao", "许愿 想要一根拐杖")  # the second grid, which has no robot: the log
    backdate(runtime, Wish, "published_at", Wish.id == 2, 4)
    backdate(runtime, Claim, "created_at", Claim.wish_id == 3, 8)
    backdate(runtime, Wish, "created_at", Wish.id.in_([2, 3]), 9)

    assert len(runtime.send_digests()) == 2  # 东山社区's grid has nothing to report: no digest
    [text] = [t for t in chat.group_pushes(GRIDWORKERS_KEY) if "每日汇总" in t]
    assert text.splitlines() == [
        "【每日汇总】新城社区/第一网格",
        "待审核 1 个：",
        "· #1 我是王**，电话（电话），需要一副老花镜",
        "超过3天没人认领 1 个：",
        "· #2 家里水龙头漏水",
        "认领超过7天未完成 1 个：",
        "· #3 想请人上门理发（李建国）",
    ]
    assert "王秀兰" not in text and "13800000001" not in text
    second = [n for n in digests(runtime) if n.channel == "log"]
    assert len(second) == 1 and "第二网格" in second[0].text and "#4" in second[0].text


def test_digest_thresholds_are_settings(chat, app):
    runtime = app.extensions["wishbot"]
    chat.say("o-wang", "许愿 家里水龙头漏水")
    chat.say("o-liu", "审核 1 通过")
    backdate(runtime, Wish, "published_at", Wish.id == 1, 2)
    backdate(runtime, Wish, "created_at", Wish.id == 1, 2)
    assert send_digests(runtime.db, runtime.settings) == []  # two days unclaimed is not yet news
    [digest] = send_digests(runtime.db, runtime.settings.with_(unclaimed_days=1))
    with runtime.db.sessions() as session:
        assert "超过1天没人认领 1 个：\n· #1" in session.get(Notice, digest.id).text


def test_a_claimer_is_reminded_once_after_three_days(chat, app):
    runtime = app.extensions["wishbot"]
    chat.say("o-wang", "许愿 家里水龙头漏水")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    backdate(runtime, Claim, "created_at", Claim.wish_id == 1, 2)
    assert runtime.send_reminders() == []
    backdate(runtime, Claim, "created_at", Claim.wish_id == 1, 3.1)
    assert len(runtime.send_reminders()) == 1
    assert runtime.send_reminders() == []  # once
    assert chat.private_notices("o-li")[1:] == [
        "您认领的心愿 #1（家里水龙头漏水）已经3天了。完成后请回复「完成 1」；做不了请回复「放弃 1」。"]
    with runtime.db.sessions() as session:
        assert session.scalars(select(Claim)).one().reminded_at is not None


def test_a_claim_idle_for_14_days_is_released_and_the_wish_republished(chat, app):
    runtime = app.extensions["wishbot"]
    chat.say("o-wang", "许愿 家里水龙头漏水")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    backdate(runtime, Claim, "created_at", Claim.wish_id == 1, 14.1)
    runtime.send_reminders()
    with runtime.db.sessions() as session:
        assert session.get(Wish, 1).status == "published"
        assert session.scalars(select(Claim)).one().status == "released"
        event = session.scalars(select(WishEvent).where(WishEvent.wish_id == 1).order_by(WishEvent.id.desc())).first()
        assert (event.action, event.channel, event.actor_id, event.after) == ("release", "system", None, "published")
    assert chat.private_notices("o-li") == [
        "您认领了心愿 #1：家里水龙头漏水\n许愿人：王秀兰，电话：13800000001，地址：新城小区3号楼401\n完成后回复「完成 1」。",
        "您认领的心愿 #1 14天没有完成，已自动放弃，重新开放给其他志愿者。谢谢您！"]
    assert chat.group_pushes(VOLUNTEERS_KEY) == [
        "新心愿 #1（新城社区第一网格，王**）：家里水龙头漏水\n回复「认领 1」认领。", "心愿 #1 已由 李建国（市税务局） 认领。",
        "心愿 #1 重新开放认领：家里水龙头漏水\n回复「认领 1」认领。"]
    chat.dialog([("o-chen", "认领 1", "认领成功！心愿 #1：家里水龙头漏水\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。")])
    # open to the others again
    backdate(runtime, Claim, "created_at", Claim.wish_id == 1, 1)
    assert send_reminders(runtime.db, runtime.settings) == []  # the new claim is left alone


def run_digest(tmp_path, sqlite_url, api_base) -> subprocess.CompletedProcess:
    db = Database(sqlite_url)
    build_world(db)
    with db.transaction() as session:
        wang = session.scalar(select(Person).where(Person.openid == "o-wang"))
        new_wish(Context(session=session, person=wang), "需要一副老花镜")
    db.dispose()
    env = {**os.environ, "WISHBOT_DATABASE_URL": sqlite_url, "WISHBOT_WECOM_API_BASE": api_base}
    env.pop("WISHBOT_REDIS_URL", None)
    return subprocess.run([WISHBOT, "digest"], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)


def test_wishbot_digest_sends_the_digests_now(tmp_path, sqlite_url, wechat_api):
    result = run_digest(tmp_path, sqlite_url, wechat_api.url_for("").rstrip("/"))
    assert result.returncode == 0, result.stderr
    assert "digests sent: 1" in result.stdout
    [text] = [r.get_json()["text"]["content"] for r, _ in wechat_api.log if r.args.get("key") == GRIDWORKERS_KEY]
    assert text.startswith("【每日汇总】新城社区/第一网格") and "待审核 1 个：\n· #1" in text


def test_wishbot_digest_says_so_when_a_digest_did_not_go_out(tmp_path, sqlite_url, httpserver):
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_json({"errcode": 93000, "errmsg": "bad key"})
    result = run_digest(tmp_path, sqlite_url, httpserver.url_for("").rstrip("/"))
    assert result.returncode != 0 and "0 of 1 digests sent" in result.stderr


class Calls:
    def __init__(self):
        self.made: list[tuple[str, object]] = []

    def call(self, name, arg, delay=0):
        self.made.append((name, arg))


def test_the_clock_enqueues_each_run_once_however_many_clocks_tick():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.clock import Clock, memory_claims
    from bot.settings import Settings

    claims, calls = memory_claims(), Calls()  # two clocks sharing one claim store, like two workers
    clocks = [Clock(Settings(digest_hour=8), calls, claims) for _ in range(2)]
    zone = ZoneInfo("Asia/Shanghai")
    for clock in clocks:
        clock.tick(datetime(2026, 11, 22, 7, 59, tzinfo=zone))
    assert sorted(name for name, _ in calls.made) == ["purge_processed", "refresh_figures", "relay_notices",
                                                      "send_reminders"]
    for minute in (0, 1):
        for clock in clocks:
            clock.tick(datetime(2026, 11, 22, 8, minute, tzinfo=zone))
    assert [arg for name, arg in calls.made if name == "send_digests"] == ["2026-11-22"]
    assert [arg for name, arg in calls.made if name == "send_reminders"] == ["2026-11-22T07", "2026-11-22T08"]
    assert [arg for name, arg in calls.made if name == "purge_processed"] == ["2026-11-22T07", "2026-11-22T08"]
    clocks[0].tick(datetime(2026, 11, 23, 9, 30, tzinfo=zone))
    assert [arg for name, arg in calls.made if name == "send_digests"] == ["2026-11-22", "2026-11-23"]


def test_a_backlog_is_counted_but_listed_only_in_part(chat, app):
    from handlers.digest import DIGEST_LIST

    runtime = app.extensions["wishbot"]
    with runtime.db.transaction() as session:
        wang = session.scalar(select(Person).where(Person.openid == "o-wang"))
        for i in range(DIGEST_LIST + 2):
            new_wish(Context(session=session, person=wang), f"心愿{i}")
    [digest] = send_digests(runtime.db, runtime.settings)
    with runtime.db.sessions() as session:
        text = session.get(Notice, digest.id).text
    assert text.splitlines() == [
        "【每日汇总】新城社区/第一网格",
        f"待审核 {DIGEST_LIST + 2} 个：",
        *(f"· #{i + 1} 心愿{i}" for i in range(DIGEST_LIST)),
        f"……（共{DIGEST_LIST + 2}个，仅列前{DIGEST_LIST}个）",
    ]
