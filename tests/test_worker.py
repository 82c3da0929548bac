"""`wishbot worker` as real processes on a real Redis, with a real local server answering as
WeChat does: notices survive a Redis outage and a `kill -9`, robots are paced and merged, the
access token is shared, and the scheduler sends digests and reminders.

Each test runs its own redis-server, so that it can stop it, and so that no other test run
sharing the machine's Redis can disturb it.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from rq.job import Job
from rq.registry import ScheduledJobRegistry
from sqlalchemy import select, update
from werkzeug import Response

from app import create_app
from bot.db import Database
from bot.jobs import QUEUE_NAME
from bot.pacing import robot_key
from models import Claim, Notice, Person, Wish, utcnow

from .chat import Chat
from .conftest import (
    AES_KEY,
    APPID,
    TOKEN,
    make_settings,
    service_missing,
    truncate_postgres,
    wait_for,
)
from .processes import RedisServer, kill_9
from .world import GRIDWORKERS_KEY, VOLUNTEERS_KEY, build_world

WISHBOT = str(Path(sys.executable).with_name("wishbot"))
ROBOT = "/cgi-bin/webhook/send"
SEND = "/cgi-bin/message/custom/send"
TOKEN_PATH = "/cgi-bin/stable_token"
OK = {"errcode": 0, "errmsg": "ok"}


class Bed:
    """The database, a private Redis, the local WeChat server, the app and its workers."""

    def __init__(self, database_url: str, api, tmp_path: Path):
        self.database_url = database_url
        self.api = api
        self.tmp_path = tmp_path
        self.redis = RedisServer(tmp_path)
        self.redis.start()
        self.db = Database(database_url)
        build_world(self.db)
        api_base = api.url_for("").rstrip("/")
        self.app = create_app(make_settings(database_url, api_base, redis_url=self.redis.url))
        self.chat = Chat(self.app.test_client(), self.app, api)
        self.env = {
            **os.environ,
            "WISHBOT_DATABASE_URL": database_url, "WISHBOT_REDIS_URL": self.redis.url,
            "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_SECRET": "secret",
            "WECHAT_ENCODING_AES_KEY": AES_KEY,
            "WISHBOT_WECHAT_API_BASE": api_base, "WISHBOT_WECOM_API_BASE": api_base,
            "WISHBOT_SEND_LEASE_SECONDS": "2",  # so that a killed worker's rows go out again soon
            # No daily digest unless a test asks for one: a worker started after the digest hour
            # (08:00 in Asia/Shanghai, 00:00 UTC) would otherwise add it to what the tests count.
            "WISHBOT_DIGEST_HOUR": "24",
        }
        self.workers: list[subprocess.Popen] = []

    def start_worker(self, **env: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"worker-{len(self.workers)}.log", "w")
        worker = subprocess.Popen([WISHBOT, "worker"], env={**self.env, **env}, cwd=self.tmp_path,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.workers.append(worker)
        return worker

    @staticmethod
    def kill(worker: subprocess.Popen) -> None:
        kill_9(worker)

    def close(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                self.kill(worker)
        self.app.extensions["wishbot"].db.dispose()
        self.db.dispose()
        if self.redis.process.poll() is None:
            self.redis.stop()

    # --- reading the outcome ---

    def notices(self) -> list[Notice]:
        with self.db.sessions() as session:
            return list(session.scalars(select(Notice).order_by(Notice.id)))

    def all_sent(self) -> bool:
        rows = self.notices()
        return bool(rows) and all(n.status == "sent" for n in rows)

    def calls(self, path: str) -> list[dict]:
        return [json.loads(request.data or b"{}") for request, _ in self.api.log if request.path == path]

    def robot_messages(self, key: str = VOLUNTEERS_KEY) -> list[dict]:
        return [json.loads(request.data) for request, _ in self.api.log
                if request.path == ROBOT and request.args.get("key") == key]

    def publish_wishes(self, count: int) -> None:
        """Published wishes of 王秀兰, straight into the database (no notices)."""
        with self.db.transaction() as session:
            wang = session.scalar(select(Person).where(Person.openid == "o-wang"))
            session.add_all(Wish(content=f"第{n}个心愿", requester=wang, community_id=wang.community_id,
                                 grid_id=wang.grid_id, status="published", published_at=utcnow())
                            for n in range(1, count + 1))


@pytest.fixture
def database(request, tmp_path, sqlite_template):
    """PostgreSQL unless a test asks for both."""
    if getattr(request, "param", "postgresql") == "sqlite":
        path = tmp_path / "wishbot.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    truncate_postgres(url)
    return url


@pytest.fixture
def api(httpserver):
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_json({"access_token": "TOKEN-1", "expires_in": 7200})
    return httpserver


@pytest.fixture
def bed(database, api, tmp_path):
    if shutil.which("redis-server") is None:
        service_missing("redis-server", FileNotFoundError("redis-server is not installed"))
    bed = Bed(database, api, tmp_path)
    yield bed
    bed.close()


def answer_ok(httpserver) -> None:
    httpserver.expect_request(SEND).respond_with_json(OK)
    httpserver.expect_request(ROBOT).respond_with_json(OK)


def text_of(message: dict) -> str:
    return message[message["msgtype"]]["content"]


# --- nothing lost -----------------------------------------------------------------------------------

def test_notices_committed_while_redis_is_down_are_delivered_once_it_is_back(bed, api):
    answer_ok(api)
    bed.publish_wishes(2)
    bed.redis.stop()
    assert "认领成功" in bed.chat.say("o-li", "认领 1")  # the resident is answered all the same
    assert "认领成功" in bed.chat.say("o-chen", "认领 2")
    rows = bed.notices()
    assert len(rows) >= 6 and {n.status for n in rows} == {"pending"}

    bed.redis.start()  # empty: whatever was queued before is gone too
    bed.start_worker()
    wait_for(bed.all_sent, timeout=30)
    assert all(n.attempts == 1 for n in bed.notices())
    group = [text_of(m) for m in bed.robot_messages()]
    assert sorted(group) == sorted(n.text for n in rows if n.channel == "robot")  # each exactly once
    assert len(bed.calls(SEND)) == sum(n.channel == "official" for n in rows)


def test_a_running_worker_rides_out_a_redis_outage(bed, api):
    answer_ok(api)
    bed.publish_wishes(2)
    worker = bed.start_worker()
    bed.chat.say("o-li", "认领 1")
    wait_for(bed.all_sent, timeout=30)
    bed.redis.stop()
    assert "认领成功" in bed.chat.say("o-chen", "认领 2")
    bed.redis.start()
    wait_for(bed.all_sent, timeout=60)
    assert worker.poll() is None  # the same worker, still running
    rows = bed.notices()
    assert len(bed.robot_messages()) == sum(n.channel == "robot" for n in rows)  # each exactly once
    assert len(bed.calls(SEND)) == sum(n.channel == "official" for n in rows)


@pytest.mark.parametrize("database", ["sqlite", "postgresql"], indirect=True)
def test_a_worker_killed_mid_send_is_made_good_by_the_next_with_at_most_one_extra_send(bed, api):
    in_flight, release = threading.Event(), threading.Event()

    def robot(request):
        if not in_flight.is_set():
            in_flight.set()
            release.wait(30)  # the send hangs until the worker is dead
        return Response(json.dumps(OK), content_type="application/json")

    api.expect_request(ROBOT).respond_with_handler(robot)
    api.expect_request(SEND).respond_with_json(OK)
    bed.publish_wishes(1)
    assert "认领成功" in bed.chat.say("o-li", "认领 1")
    first = bed.start_worker()
    assert in_flight.wait(30)
    bed.kill(first)
    release.set()
    [group_row] = [n for n in bed.notices() if n.channel == "robot"]
    assert group_row.status == "sending"  # the killed send committed nothing but its lease

    def lease_ran_out():
        with bed.db.sessions() as session:
            return session.scalar(select(Notice.id).where(Notice.id == group_row.id, Notice.lease_until <= utcnow()))

    wait_for(lease_ran_out)
    bed.start_worker()
    wait_for(bed.all_sent, timeout=30)
    sends = [text_of(m) for m in bed.robot_messages()]
    assert sends == [group_row.text] * 2  # once cut off, once delivered: one more than needed
    assert len(bed.calls(SEND)) == 2  # the private notices, each once


def test_a_robot_outage_spends_one_attempt_per_retry_however_many_jobs_wait(bed, api):
    api.expect_oneshot_request(ROBOT).respond_with_json({"errcode": -1, "errmsg": "system busy"})
    api.expect_request(ROBOT).respond_with_json(OK)
    with bed.db.transaction() as session:
        rows = [Notice(event="claimed", audience="group", channel="robot", target=VOLUNTEERS_KEY,
                       text=f"心愿 #{n} 已由 李建国（市税务局） 认领。") for n in range(1, 11)]
        session.add_all(rows)
    ids = [row.id for row in rows]
    bed.app.extensions["wishbot"].jobs.enqueue(ids)  # ten send_notice jobs, one robot
    bed.start_worker()
    connection = redis.Redis.from_url(bed.redis.url)

    def first_try_over():
        jobs = Job.fetch_many([f"notice-{i}" for i in ids] + [f"flush-{robot_key(VOLUNTEERS_KEY)}"],
                              connection=connection)
        *notices, flush = [job.get_status() if job else None for job in jobs]
        return set(notices) == {"finished"} and flush == "scheduled"  # its retry, in 5 s

    wait_for(first_try_over, timeout=30)
    assert len(bed.robot_messages()) == 1
    assert {(n.status, n.attempts) for n in bed.notices() if n.id in ids} == {("pending", 1)}
    wait_for(bed.all_sent, timeout=30)
    assert len(bed.robot_messages()) == 2
    assert {(n.status, n.attempts) for n in bed.notices() if n.id in ids} == {("sent", 2)}


# --- WeChat's limits --------------------------------------------------------------------------------

def test_a_burst_of_30_claims_reaches_the_group_paced_and_merged(bed, api):
    answer_ok(api)
    bed.publish_wishes(30)
    bed.start_worker()
    bed.start_worker()  # two processes, one budget
    for n in range(1, 31):
        assert "认领成功" in bed.chat.say("o-li", f"认领 {n}")

    def group_delivered():
        return all(n.status == "sent" for n in bed.notices() if n.channel == "robot")

    wait_for(group_delivered, timeout=30)  # within half a minute of the claims
    messages = bed.robot_messages()
    assert len(messages) <= 20
    assert "markdown" in {m["msgtype"] for m in messages}  # more waited than the budget allowed
    named = [int(n) for m in messages for n in re.findall(r"心愿 #(\d+) 已由", text_of(m))]
    assert sorted(named) == list(range(1, 31))  # every wish, once
    assert all(len(text_of(m).encode()) <= 4096 for m in messages)


def test_the_robot_limit_is_configurable(bed, api):
    answer_ok(api)
    bed.publish_wishes(6)
    bed.start_worker(WISHBOT_ROBOT_PER_MINUTE="2")  # one at once, then one every 60 s
    bed.chat.say("o-li", "认领 1")
    wait_for(lambda: len(bed.robot_messages()) == 1, timeout=30)
    for n in range(2, 7):
        bed.chat.say("o-li", f"认领 {n}")
    wait_for(lambda: len(bed.calls(SEND)) == 12, timeout=30)  # private notices are not held back
    assert len(bed.robot_messages()) == 1
    assert sum(n.status == "pending" for n in bed.notices() if n.channel == "robot") == 5
    scheduled = ScheduledJobRegistry(QUEUE_NAME, connection=redis.Redis.from_url(bed.redis.url))
    assert any(job_id.startswith("flush-") for job_id in scheduled.get_job_ids())  # in about a minute


# --- the access token -------------------------------------------------------------------------------

def test_the_access_token_is_fetched_once_for_every_worker(bed, api):
    answer_ok(api)
    bed.publish_wishes(4)
    for _ in range(2):
        bed.start_worker()
    for n, member in enumerate(["o-li", "o-chen", "o-li", "o-chen"], start=1):
        bed.chat.say(member, f"认领 {n}")
    wait_for(bed.all_sent, timeout=30)
    assert len(bed.calls(SEND)) == 8
    assert len(bed.calls(TOKEN_PATH)) == 1


def test_a_rejected_token_is_fetched_once_more_and_the_send_goes_through(bed, api):
    api.expect_oneshot_request(SEND).respond_with_json({"errcode": 40001, "errmsg": "invalid credential"})
    answer_ok(api)
    bed.publish_wishes(1)
    bed.chat.say("o-li", "认领 1")
    bed.start_worker()
    wait_for(bed.all_sent, timeout=30)
    assert len(bed.calls(TOKEN_PATH)) == 2
    assert len(bed.calls(SEND)) == 3  # the refused one, then both private notices


def test_a_token_rejected_twice_fails_the_job_which_is_retried(bed, api):
    api.expect_request(SEND).respond_with_json({"errcode": 42001, "errmsg": "access_token expired"})
    api.expect_request(ROBOT).respond_with_json(OK)
    bed.publish_wishes(1)
    bed.chat.say("o-li", "认领 1")
    bed.start_worker()

    def failed_once():
        rows = [n for n in bed.notices() if n.channel == "official"]
        return all(n.attempts >= 1 for n in rows) and rows

    rows = wait_for(failed_once, timeout=30)
    connection = redis.Redis.from_url(bed.redis.url)

    def retry_scheduled():  # the job failed, and RQ will run it again after a pause
        return all(Job.fetch(f"notice-{row.id}", connection=connection).get_status() == "scheduled"
                   for row in rows)

    wait_for(retry_scheduled, timeout=10)
    token_fetches = len(bed.calls(TOKEN_PATH))
    assert 2 <= token_fetches <= 2 * len(rows)  # once, and once more, per attempt
    assert all(n.status == "pending" and "42001" in n.last_error for n in rows)


# --- out of the 48-hour window ------------------------------------------------------------------------

def test_a_resident_out_of_the_window_is_told_by_the_grid_workers(bed, api):
    def custom_send(request):
        silent = json.loads(request.data)["touser"] == "o-wang"
        answer = {"errcode": 45015, "errmsg": "response out of time limit"} if silent else OK
        return Response(json.dumps(answer), content_type="application/json")

    api.expect_request(SEND).respond_with_handler(custom_send)
    api.expect_request(ROBOT).respond_with_json(OK)
    bed.publish_wishes(1)
    bed.chat.say("o-li", "认领 1")
    bed.start_worker()
    wait_for(lambda: bed.robot_messages(GRIDWORKERS_KEY), timeout=30)
    [told] = [text_of(m) for m in bed.robot_messages(GRIDWORKERS_KEY)]
    assert told == ("【请电话转告】心愿 #1 的许愿人 王**（电话可发「查询 1」查看）超过48小时没有和公众号互动，收不到消息。"
                    "请打电话告诉TA：\n您的心愿 #1 已有人认领：李建国（市税务局），会尽快联系您。")
    # The robot has the message; the worker records that it went out just after.
    wait_for(lambda: [n.status for n in bed.notices() if "已有人认领" in n.text] == ["failed", "sent"], timeout=10)
    refused, passed_on = [n for n in bed.notices() if "已有人认领" in n.text]  # the ledger: both rows
    assert (refused.status, passed_on.status, passed_on.fallback_for_id) == ("failed", "sent", refused.id)
    assert "45015" in refused.last_error


# --- the scheduler ----------------------------------------------------------------------------------

def test_the_scheduler_sends_digests_reminders_and_releases(bed, api):
    answer_ok(api)
    bed.publish_wishes(3)
    bed.chat.say("o-li", "认领 1")
    bed.chat.say("o-chen", "认领 2")
    bed.chat.say("o-wang", "许愿 需要一副老花镜")  # #4, waiting for review
    with bed.db.transaction() as session:
        session.execute(update(Notice).values(status="sent"))  # only what the scheduler sends counts
        session.execute(update(Claim).where(Claim.wish_id == 1).values(created_at=utcnow() - timedelta(days=4)))
        session.execute(update(Claim).where(Claim.wish_id == 2).values(created_at=utcnow() - timedelta(days=15)))
        session.execute(update(Wish).where(Wish.id == 3).values(published_at=utcnow() - timedelta(days=5)))

    bed.start_worker(WISHBOT_DIGEST_HOUR="0")  # past the digest hour at any time of day
    wait_for(lambda: bed.robot_messages(GRIDWORKERS_KEY) and len(bed.calls(SEND)) >= 2, timeout=30)

    [digest] = [text_of(m) for m in bed.robot_messages(GRIDWORKERS_KEY)]
    assert digest == ("【每日汇总】新城社区/第一网格\n新心愿 3 个：\n· #1 第1个心愿\n· #2 第2个心愿\n· #3 第3个心愿\n"
                      "待审核 1 个：\n· #4 需要一副老花镜\n超过3天没人认领 1 个：\n· #3 第3个心愿")
    wait_for(lambda: len(bed.calls(SEND)) >= 3, timeout=30)  # the reminder, the release, and its word to the resident
    private = {(c["touser"], c["text"]["content"]) for c in bed.calls(SEND)}
    assert private == {
        ("o-li", "您认领的心愿 #1（第1个心愿）已经3天了。完成后请回复「完成 1」；做不了请回复「放弃 1」。"),
        ("o-chen", "您认领的心愿 #2 14天没有完成，已自动放弃，重新开放给其他志愿者。谢谢您！"),
        ("o-wang", "您的心愿 #2，陈晓梅（市司法局）认领14天没有完成，已自动取消。心愿已重新开放，会有其他志愿者来认领。"),
    }
    reopened = "心愿 #2 重新开放认领：第2个心愿\n回复「认领 2」认领。"
    wait_for(lambda: reopened in [text_of(m) for m in bed.robot_messages()])
    with bed.db.sessions() as session:
        assert session.get(Wish, 2).status == "published"
        claims = {c.wish_id: c for c in session.scalars(select(Claim))}
        assert claims[2].status == "released" and claims[1].status == "active" and claims[1].reminded_at


def test_sigterm_stops_the_worker(bed, api):
    answer_ok(api)
    bed.publish_wishes(1)
    worker = bed.start_worker()
    bed.chat.say("o-li", "认领 1")
    wait_for(bed.all_sent, timeout=30)  # it is up and working
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(30) == 0  # and not started again by the loop that rides out Redis outages
