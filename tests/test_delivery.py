"""Delivering the outbox in one process: robot budgets, merging, splitting, failures, 45015.

Real databases (SQLite and PostgreSQL), real Redis for the shared budget, and a real local
HTTP server answering as WeChat does. Time in the budget tests is a hand-driven clock.
"""
from __future__ import annotations

import json
import multiprocessing
import re
import threading
import uuid
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select
from werkzeug import Response

from bot.db import Database
from bot.delivery import MAX_ATTEMPTS, Delivery, Outbound, compose
from bot.jobs import InProcessJobs, Jobs
from bot.outbound.errors import DeliveryError, Throttled
from bot.outbound.official import OfficialAccountAPI
from bot.outbound.robot import MARKDOWN_LIMIT, TEXT_LIMIT, GroupRobot, split_message
from bot.outbound.tokens import MemoryTokenStore
from bot.pacing import WINDOW, Budget, MemoryPacer, RedisPacer, robot_key
from handlers.notices import pass_on_by_phone
from models import Notice, WishEvent, utcnow

from .chat import Chat
from .conftest import REDIS_URL, make_settings, service_missing, wait_for
from .world import GRIDWORKERS_KEY, VOLUNTEERS_KEY, build_world

ROBOT = "/cgi-bin/webhook/send"
OK = {"errcode": 0, "errmsg": "ok"}


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FollowUps(Jobs):
    """Records the jobs delivery asks the job runner for."""

    def __init__(self):
        self.calls: list[tuple[str, object, float]] = []

    def call(self, name, arg, delay=0):
        self.calls.append((name, arg, delay))
        return True

    @property
    def later(self) -> list[tuple[str, float]]:
        """The robot flushes asked for: (target, delay)."""
        return [(arg, delay) for name, arg, delay in self.calls if name == "flush_robot"]


@pytest.fixture
def db(database_url):
    database = Database(database_url)
    yield database
    database.dispose()


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def delivery(db, httpserver, clock):
    base = httpserver.url_for("/")
    outbound = Outbound(robot=GroupRobot(base, 2),
                        official=OfficialAccountAPI(base, "wxappid", "secret", MemoryTokenStore(), 2))
    return Delivery(db, outbound, MemoryPacer(Budget.per_minute(20), clock=clock), FollowUps(),
                    outside_window=pass_on_by_phone)


def add_robot_notices(db, count: int, text: str = "心愿 #{n} 已由 李建国（市税务局） 认领。",
                      target: str = VOLUNTEERS_KEY) -> list[int]:
    with db.transaction() as session:
        rows = [Notice(event="claimed", audience="group", channel="robot", target=target,
                       text=text.format(n=n)) for n in range(1, count + 1)]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def robot_messages(httpserver) -> list[dict]:
    return [json.loads(request.data) for request, _ in httpserver.log if request.path == ROBOT]


def content(message: dict) -> str:
    return message[message["msgtype"]]["content"]


def statuses(db) -> list[tuple[str, int]]:
    with db.sessions() as session:
        return [(n.status, n.attempts) for n in session.scalars(select(Notice).order_by(Notice.id))]


# --- the budget -----------------------------------------------------------------------------------

@pytest.mark.parametrize("limit", [1, 4, 20, 60])
def test_budget_never_passes_the_limit_in_any_minute_and_keeps_sending(limit):
    clock = Clock()
    pacer = MemoryPacer(Budget.per_minute(limit), clock=clock)
    granted = []
    for step in range(10 * 600):  # ten minutes of someone trying every 0.1 s
        clock.now = 1000 + step / 10
        if pacer.take("robot") == 0:
            granted.append(clock.now)
    windows = [sum(1 for t in granted if start <= t < start + WINDOW) for start in granted]
    assert max(windows) <= limit
    interval = Budget.per_minute(limit).interval
    gaps = [b - a for a, b in zip(granted, granted[1:])]
    assert max(gaps) <= interval + 0.1 + 1e-9  # under load the robot still sends every `interval` seconds
    assert len(granted) >= 600 / interval


def test_budget_says_how_long_to_wait():
    clock = Clock()
    pacer = MemoryPacer(Budget(burst=2, interval=4.0), clock=clock)
    assert pacer.take("r") == 0 and pacer.take("r") == 0
    assert pacer.take("r") == pytest.approx(4.0)
    clock.now += 1
    assert pacer.take("r") == pytest.approx(3.0)
    assert pacer.take("other robot") == 0  # each robot has its own budget


@pytest.fixture
def budget_redis():
    """Redis db 13, which no other test flushes; each test uses keys of its own."""
    url = REDIS_URL.rsplit("/", 1)[0] + "/13"
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as error:
        service_missing("Redis", error)
    prefix = f"test:{uuid.uuid4().hex}:"
    yield url, prefix
    for key in client.scan_iter(prefix + "*"):
        client.delete(key)
    client.close()


# A budget that refills slower (one message a minute) than three processes take to start on a busy
# machine, so the count cannot include refills.
SLOW_BUDGET = Budget.per_minute(2)


def _take_all(url: str, key: str, count: int, results) -> None:
    pacer = RedisPacer(redis.Redis.from_url(url), SLOW_BUDGET, prefix=key)
    results.put(sum(1 for _ in range(count) if pacer.take("the robot") == 0))


def test_redis_budget_is_shared_by_processes(budget_redis):
    redis_url, prefix = budget_redis
    spawn = multiprocessing.get_context("spawn")
    results = spawn.Queue()
    processes = [spawn.Process(target=_take_all, args=(redis_url, prefix, 20, results)) for _ in range(3)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)
    granted = sum(results.get(timeout=5) for _ in processes)
    assert granted == SLOW_BUDGET.burst  # 1 of the 60 tries: the budget is one, not three
    pacer = RedisPacer(redis.Redis.from_url(redis_url), SLOW_BUDGET, prefix=prefix)
    assert 0 < pacer.take("the robot") <= SLOW_BUDGET.interval
    assert pacer.available("the robot") == 0


def test_redis_budget_hold(budget_redis):
    redis_url, prefix = budget_redis
    pacer = RedisPacer(redis.Redis.from_url(redis_url), Budget.per_minute(20), prefix=prefix)
    assert pacer.available("r") == 5
    pacer.hold("r", 30)
    assert pacer.available("r") == 0
    assert pacer.take("r") > 29


# --- merging and splitting ------------------------------------------------------------------------

def test_within_budget_each_notice_is_its_own_text(db, delivery, httpserver):
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    add_robot_notices(db, 3)
    delivery.flush_robot(VOLUNTEERS_KEY)
    messages = robot_messages(httpserver)
    assert [m["msgtype"] for m in messages] == ["text"] * 3
    assert [content(m) for m in messages] == [f"心愿 #{n} 已由 李建国（市税务局） 认领。" for n in (1, 2, 3)]
    assert statuses(db) == [("sent", 1)] * 3


def test_more_than_the_budget_is_merged_into_one_list_naming_every_wish(db, delivery, httpserver):
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    add_robot_notices(db, 30)
    delivery.flush_robot(VOLUNTEERS_KEY)
    [message] = robot_messages(httpserver)
    assert message["msgtype"] == "markdown"
    text = content(message)
    assert "共30条" in text
    assert sorted(int(n) for n in re.findall(r"#(\d+)", text)) == list(range(1, 31))
    assert statuses(db) == [("sent", 1)] * 30


def test_when_the_budget_is_spent_the_robot_is_flushed_again_later(db, delivery, httpserver, clock):
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    for _ in range(5):  # the burst, one notice at a time
        add_robot_notices(db, 1)
        delivery.flush_robot(VOLUNTEERS_KEY)
    add_robot_notices(db, 2)
    delivery.flush_robot(VOLUNTEERS_KEY)
    assert len(robot_messages(httpserver)) == 5
    [(target, delay)] = delivery.jobs.later
    assert target == VOLUNTEERS_KEY and 0 < delay <= Budget.per_minute(20).interval
    assert [s for s, _ in statuses(db)][-2:] == ["pending", "pending"]

    clock.now += delay
    delivery.flush_robot(VOLUNTEERS_KEY)
    assert len(robot_messages(httpserver)) == 6 and robot_messages(httpserver)[-1]["msgtype"] == "markdown"
    assert all(s == "sent" for s, _ in statuses(db))


HOSTILE_WISH = ("# 置顶通知\n[点此领取补贴](http://evil.example/x) <font color=\"warning\">紧急</font> "
                "**加粗** `代码` > 引用 www.evil.example")


def test_a_wishs_text_in_a_merged_list_carries_no_markup(db, delivery, httpserver):
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    add_robot_notices(db, 25, text="新心愿 #{n}：" + HOSTILE_WISH.replace("{", "{{").replace("}", "}}"))
    add_robot_notices(db, 1, text=HOSTILE_WISH)  # the wish's text first on its line
    delivery.flush_robot(VOLUNTEERS_KEY)
    messages = robot_messages(httpserver)
    assert {m["msgtype"] for m in messages} == {"markdown"}
    lines = [line for m in messages for line in content(m).split("\n")]
    assert lines[0] == "**最新消息（共26条）**"
    items = [line for line in lines if line.startswith("- ")]
    assert len(items) == 26 and len(lines) == 27
    assert items[0] == ("- 新心愿 #1：# 置顶通知 ［点此领取补贴］(http：//evil.example/x) "
                        "＜font color=\"warning\"＞紧急＜/font＞ ＊＊加粗＊＊ ｀代码｀ ＞ 引用 www．evil.example")
    assert items[-1].startswith("- ＃ 置顶通知 ［点此领取补贴］")
    for item in items:
        body = item[2:]
        assert not re.search(r"[\[\]<>*_`]|://|www\.|^\s*#", body), item


def test_merged_messages_are_split_within_the_robot_limit():
    rows = [Notice(id=n, text=f"心愿 #{n} " + "很长的内容" * 60) for n in range(1, 41)]
    messages = compose(rows, budget=5)
    assert len(messages) > 1
    assert [row.id for m in messages for row in m.rows] == list(range(1, 41))  # each row exactly once
    for message in messages:
        assert message.msgtype == "markdown"
        assert all(len(part.encode()) <= MARKDOWN_LIMIT for part in message.parts)
        assert all(f"#{row.id} " in "".join(message.parts) for row in message.rows)


def test_an_overlong_single_notice_is_split_into_texts():
    [message] = compose([Notice(id=1, text="字" * 1500)], budget=5)
    assert message.msgtype == "text" and len(message.parts) == 3
    assert all(len(part.encode()) <= TEXT_LIMIT for part in message.parts)
    assert "".join(message.parts) == "字" * 1500


# --- failures -------------------------------------------------------------------------------------

def test_a_throttled_robot_holds_its_budget_and_the_rows_wait(db, delivery, httpserver, clock):
    httpserver.expect_oneshot_request(ROBOT).respond_with_json({"errcode": 45009, "errmsg": "api freq out of limit"})
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    add_robot_notices(db, 1)
    with pytest.raises(Throttled):
        delivery.flush_robot(VOLUNTEERS_KEY)
    with db.sessions() as session:
        row = session.scalars(select(Notice)).one()
        assert (row.status, row.attempts) == ("pending", 1) and "45009" in row.last_error
    assert delivery.pacer.available(VOLUNTEERS_KEY) == 0

    delivery.flush_robot(VOLUNTEERS_KEY)  # the retry, while the robot is still held: nothing goes out
    assert len(robot_messages(httpserver)) == 1 and delivery.jobs.later

    clock.now += WINDOW + 5
    delivery.flush_robot(VOLUNTEERS_KEY)
    assert len(robot_messages(httpserver)) == 2
    assert statuses(db) == [("sent", 2)]


def test_a_bad_robot_key_fails_for_good_and_stays_visible(db, delivery, httpserver):
    httpserver.expect_request(ROBOT).respond_with_json({"errcode": 93000, "errmsg": "invalid webhook url"})
    add_robot_notices(db, 2)
    delivery.flush_robot(VOLUNTEERS_KEY)  # nothing to retry: no error for the job runner
    assert not delivery.jobs.later
    with db.sessions() as session:
        rows = session.scalars(select(Notice)).all()
        assert {(r.status, r.attempts) for r in rows} == {("failed", 1)}
        assert all("93000" in r.last_error for r in rows)


def test_a_message_that_fails_for_good_does_not_hold_up_the_ones_behind_it(db, delivery, httpserver):
    httpserver.expect_oneshot_request(ROBOT).respond_with_json({"errcode": 40058, "errmsg": "invalid content"})
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    add_robot_notices(db, 3)
    delivery.flush_robot(VOLUNTEERS_KEY)
    assert len(robot_messages(httpserver)) == 3
    assert statuses(db) == [("failed", 1), ("sent", 1), ("sent", 1)]


def test_a_retry_of_a_message_in_parts_resumes_after_the_parts_already_sent(db, delivery, httpserver):
    httpserver.expect_oneshot_request(ROBOT).respond_with_json(OK)
    httpserver.expect_oneshot_request(ROBOT).respond_with_json({"errcode": -1, "errmsg": "system busy"})
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    [long_id] = add_robot_notices(db, 1, text="字" * 1500)  # a busy grid's digest, say
    parts = split_message("字" * 1500, TEXT_LIMIT)
    assert len(parts) == 3
    with pytest.raises(DeliveryError):
        delivery.flush_robot(VOLUNTEERS_KEY)
    with db.sessions() as session:
        row = session.get(Notice, long_id)
        assert (row.status, row.attempts, row.parts_sent) == ("pending", 1, 1)

    add_robot_notices(db, 5)  # more than the budget left: the short ones are merged, the long one is not
    delivery.flush_robot(VOLUNTEERS_KEY)
    messages = robot_messages(httpserver)
    assert [content(m) for m in messages if m["msgtype"] == "text"] == [parts[0], parts[1], parts[1], parts[2]]
    [merged] = [m for m in messages if m["msgtype"] == "markdown"]
    assert "共5条" in content(merged)
    assert statuses(db) == [("sent", 2)] + [("sent", 1)] * 5


def test_a_robot_outage_spends_one_attempt_per_retry_however_many_jobs_wait(db, delivery, httpserver):
    httpserver.expect_request(ROBOT).respond_with_json({"errcode": -1, "errmsg": "system busy"})
    jobs = InProcessJobs(lambda name, arg: getattr(delivery, name)(arg), intervals=(3600,) * 5)
    delivery.jobs = jobs
    try:
        jobs.enqueue(add_robot_notices(db, 10))  # ten send_notice jobs, one robot
        jobs.join()
        assert len(robot_messages(httpserver)) == 1  # one flush, whose retry waits its interval
        assert statuses(db) == [("pending", 1)] * 10
    finally:
        jobs.close()


def test_a_lease_that_ran_out_counts_as_pending_again(db, delivery, httpserver):
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    held, lapsed = add_robot_notices(db, 2)
    with db.transaction() as session:  # two workers that leased a row each; the second was killed
        session.get(Notice, held).status = session.get(Notice, lapsed).status = "sending"
        session.get(Notice, held).lease_until = utcnow() + timedelta(minutes=1)
        session.get(Notice, lapsed).lease_until = utcnow() - timedelta(seconds=1)
    assert delivery.relay() == [lapsed]
    delivery.flush_robot(VOLUNTEERS_KEY)
    assert [content(m) for m in robot_messages(httpserver)] == ["心愿 #2 已由 李建国（市税务局） 认领。"]
    assert statuses(db) == [("sending", 0), ("sent", 1)]


def test_a_row_that_keeps_failing_is_marked_failed_after_the_last_attempt(db, delivery, httpserver):
    httpserver.expect_request("/cgi-bin/stable_token").respond_with_json({"access_token": "T", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/message/custom/send").respond_with_data("busy", status=503)
    with db.transaction() as session:
        session.add(Notice(event="claimed", audience="private", channel="official", target="o-x", text="hi"))
    for attempt in range(1, MAX_ATTEMPTS + 1):
        with pytest.raises(Exception):
            delivery.send_notice(1)
        assert statuses(db) == [("failed" if attempt == MAX_ATTEMPTS else "pending", attempt)]
    delivery.send_notice(1)  # a failed row is left alone
    assert statuses(db) == [("failed", MAX_ATTEMPTS)]


def test_a_slow_robot_does_not_hold_up_a_chat_reply_on_sqlite(sqlite_url, httpserver):
    from app import create_app

    sending, replied = threading.Event(), threading.Event()
    answered_after_the_reply = []

    def slow_robot(request):
        sending.set()
        answered_after_the_reply.append(replied.wait(3))  # the robot takes up to 3 s to answer
        return Response(json.dumps(OK), content_type="application/json")

    httpserver.expect_request(ROBOT).respond_with_handler(slow_robot)
    app = create_app(make_settings(sqlite_url, httpserver.url_for("").rstrip("/")))
    runtime = app.extensions["wishbot"]
    build_world(runtime.db)
    try:
        runtime.jobs.enqueue(add_robot_notices(runtime.db, 1))
        assert sending.wait(10)
        assert "认领" in Chat(app.test_client(), app, httpserver).say("o-li", "帮助")  # meanwhile
        replied.set()
        runtime.jobs.join()
        assert answered_after_the_reply == [True]
        assert statuses(runtime.db) == [("sent", 1)]
    finally:
        runtime.jobs.close()
        runtime.db.dispose()


def test_relay_hands_pending_rows_back(db, delivery):
    ids = add_robot_notices(db, 3)
    assert delivery.relay(min_age=0) == ids
    assert delivery.relay(min_age=3600) == []


def add_private_notice(db, target: str = "o-x") -> int:
    with db.transaction() as session:
        row = Notice(event="claimed", audience="private", channel="official", target=target, text="hi")
        session.add(row)
        session.flush()
        return row.id


def test_the_relay_hands_robot_rows_straight_to_their_robots_flush(db, delivery):
    """As after commit: a private row its own job, the robot rows one flush per robot (not a
    send_notice job each, which would only ask for the flush)."""
    first = add_robot_notices(db, 2)
    private = add_private_notice(db)
    other = add_robot_notices(db, 1, target=GRIDWORKERS_KEY)
    assert delivery.relay() == [*first, private, *other]
    assert delivery.jobs.calls == [("send_notice", private, 0), ("flush_robot", VOLUNTEERS_KEY, 0),
                                   ("flush_robot", GRIDWORKERS_KEY, 0)]


def test_a_robot_row_passed_on_goes_straight_to_its_robots_flush(db, delivery, httpserver):
    """A private notice refused for good (45015, no template) is passed on to the grid workers'
    robot: the new row is handed over as that robot's flush."""
    httpserver.expect_request("/cgi-bin/stable_token").respond_with_json({"access_token": "T", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/message/custom/send").respond_with_json(
        {"errcode": 45015, "errmsg": "response out of time limit"})
    delivery.outside_window = lambda session, refused: [Notice(
        event="pass_on", audience="gridworkers", channel="robot", target=GRIDWORKERS_KEY, text="请电话转告",
        fallback_for_id=refused.id)]
    refused = add_private_notice(db)
    delivery.send_notice(refused)
    assert delivery.jobs.calls == [("flush_robot", GRIDWORKERS_KEY, 0)]
    assert statuses(db) == [("failed", 1), ("pending", 0)]


def test_on_redis_a_relayed_robot_row_is_one_flush_job_queued_once(db, redis_url):
    """Real RQ: the robot rows the relay finds are one queued job, their robot's flush; relayed
    again while it waits, nothing more is queued."""
    from rq import Queue

    from bot.jobs import QUEUE_NAME, RQJobs

    connection = redis.Redis.from_url(redis_url)
    jobs = RQJobs(connection)
    delivery = Delivery(db, Outbound(robot=GroupRobot("http://127.0.0.1:9", 2),
                                     official=OfficialAccountAPI("http://127.0.0.1:9", "wx", "s", MemoryTokenStore(), 2)),
                        MemoryPacer(Budget.per_minute(20)), jobs, outside_window=pass_on_by_phone)
    ids = add_robot_notices(db, 3)
    assert delivery.relay() == ids
    assert Queue(QUEUE_NAME, connection=connection).job_ids == [f"flush-{robot_key(VOLUNTEERS_KEY)}"]
    assert delivery.relay() == []  # its flush will run: nothing queued again
    assert Queue(QUEUE_NAME, connection=connection).job_ids == [f"flush-{robot_key(VOLUNTEERS_KEY)}"]
    connection.close()


# --- 45015: the resident has not written for two days -----------------------------------------------

SILENT = {"o-wang", "o-li"}


@pytest.fixture
def silent_chat(database_url, httpserver):
    from app import create_app

    def custom_send(request):
        body = json.loads(request.data)
        answer = {"errcode": 45015, "errmsg": "response out of time limit"} if body["touser"] in SILENT else OK
        return Response(json.dumps(answer), content_type="application/json")

    httpserver.expect_request("/cgi-bin/stable_token").respond_with_json({"access_token": "T", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/message/custom/send").respond_with_handler(custom_send)
    httpserver.expect_request(ROBOT).respond_with_json(OK)
    app = create_app(make_settings(database_url, httpserver.url_for("").rstrip("/")))
    runtime = app.extensions["wishbot"]
    build_world(runtime.db)
    yield Chat(app.test_client(), app, httpserver)
    runtime.jobs.join()
    runtime.jobs.close()
    runtime.db.dispose()


def test_outside_the_48_hour_window_the_grid_workers_pass_it_on_by_phone(silent_chat):
    chat = silent_chat
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    db = chat.runtime.db

    def settled():
        with db.sessions() as session:
            return session.scalar(select(Notice.id).where(Notice.status.in_(["pending", "sending"]))) is None

    wait_for(settled)
    with db.sessions() as session:
        refused = session.scalars(select(Notice).where(Notice.target.in_(SILENT))).all()
        # at least: the wish published and claimed, to 王秀兰; the contact details, to 李建国
        assert len(refused) >= 3
        assert {n.status for n in refused} == {"failed"} and all("45015" in n.last_error for n in refused)
        fallbacks = session.scalars(select(Notice).where(Notice.fallback_for_id.is_not(None))).all()
        assert sorted(n.fallback_for_id for n in fallbacks) == sorted(n.id for n in refused)
        assert {(n.channel, n.target, n.status) for n in fallbacks} == {("robot", GRIDWORKERS_KEY, "sent")}
        timeline = session.scalars(select(WishEvent.action).where(WishEvent.wish_id == 1)).all()
        assert timeline.count("pass_on") == len(refused)

    pushes = [t for t in chat.group_pushes(GRIDWORKERS_KEY) if t.startswith("【请电话转告】")]
    assert len(pushes) == len(refused)
    to_wang = "【请电话转告】心愿 #1 的许愿人 王**（电话可发「查询 1」查看）超过48小时没有和公众号互动，收不到消息。请打电话告诉TA：\n"
    to_li = "【请电话转告】心愿 #1 的认领人 李建国 超过48小时没有和公众号互动，收不到消息。请打电话告诉TA：\n"
    assert sorted(pushes) == sorted([  # the requester's details never in the group, the claimer's contact text scrubbed
        to_wang + "您的心愿 #1 已发布，有人认领会告诉您。",
        to_wang + "您的心愿 #1 已有人认领：李建国（市税务局），会尽快联系您。",
        to_li + "您认领了心愿 #1：需要一副老花镜\n许愿人：王**，电话：（电话），地址：（地址）\n完成后回复「完成 1」。",
    ])
