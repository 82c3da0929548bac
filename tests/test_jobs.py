"""The one table of jobs: every name runs, an unknown one is refused when it is queued, and
committed robot rows go straight to their robot's flush."""
from __future__ import annotations

import pytest

from bot.jobs import AFTER_COMMIT, FETCH_PROOF, JOBS, SEND_NOTICE, InProcessJobs, Jobs, UnknownJob
from composition.runtime import Runtime
from handlers.context import Context
from models import Notice, Person


class Recorded(Jobs):
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def call(self, name, arg, delay=0):
        self.calls.append((name, arg))
        return True  # taken


def test_every_job_is_a_runtime_method():
    assert sorted(name for name in JOBS if callable(getattr(Runtime, name, None))) == sorted(JOBS)


@pytest.mark.parametrize("name", ["after_commit", "perform", "nope"])
def test_a_name_outside_the_table_is_refused_when_queued_and_when_run(name):
    jobs = InProcessJobs(lambda name, arg: None)
    try:
        with pytest.raises(UnknownJob):
            jobs.call(name, 1)
    finally:
        jobs.close()
    with pytest.raises(UnknownJob):
        Runtime.perform(object(), name, 1)


def test_a_handler_may_ask_only_for_an_after_commit_job_and_is_refused_before_commit():
    ctx = Context(session=None, person=Person(name="刘芳", roles="gridworker"))
    ctx.run_after_commit(FETCH_PROOF, 7)
    with pytest.raises(UnknownJob):
        ctx.run_after_commit(SEND_NOTICE, 8)
    assert ctx.jobs == [(FETCH_PROOF, 7)] and AFTER_COMMIT == {FETCH_PROOF}


def test_committed_robot_rows_go_straight_to_one_flush_per_robot():
    jobs = Recorded()
    jobs.hand_over([
        Notice(id=1, channel="robot", target="k1"), Notice(id=2, channel="official", target="o-wang"),
        Notice(id=3, channel="robot", target="k1"), Notice(id=4, channel="robot", target="k2"),
        Notice(id=5, channel="log", target="person:9"),
    ])
    assert jobs.calls == [("send_notice", 2), ("send_notice", 5), ("flush_robot", "k1"), ("flush_robot", "k2")]


class Refusing(Recorded):
    """A runner whose Redis does not answer: it takes nothing."""

    def call(self, name, arg, delay=0):
        super().call(name, arg, delay)
        return False


def test_the_hand_over_stops_at_the_first_row_the_runner_does_not_take():
    jobs = Refusing()
    taken = jobs.hand_over([Notice(id=2, channel="official", target="o-wang"),
                            Notice(id=5, channel="log", target="person:9"), Notice(id=1, channel="robot", target="k1")])
    assert taken is False and jobs.calls == [("send_notice", 2)]  # the rest waits for the relay


@pytest.mark.parametrize("name, arg", [("note_heard", "12:wechat:1::1796093303"), ("note_heard", "12:wecom:0:click:1796093303"),
                                       ("flush_robot", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k"),
                                       ("send_notice", 7), ("retag_person", 3)])
def test_rq_takes_every_job_id(redis_url, name, arg):
    """RQ refuses a job id with any character but letters, digits, '_' and '-': a read-only
    message's hearing ("id:channel:message:event:time") was never queued on Redis."""
    import redis
    from rq import Queue

    from bot.jobs import RQJobs, job_id

    connection = redis.Redis.from_url(redis_url)
    jobs = RQJobs(connection)
    assert jobs.call_many([(name, arg)]) is True
    assert Queue("wishbot", connection=connection).job_ids == [job_id(name, arg)]
    assert jobs.call(name, arg) is True and len(Queue("wishbot", connection=connection)) == 1  # taken once


def test_job_ids_stay_distinct_when_characters_are_replaced():
    from bot.jobs import job_id

    assert job_id("retag_person", "1:2") != job_id("retag_person", "1_2")


def test_a_waiting_hearing_takes_the_next_ones_of_that_person_and_channel():
    from bot.jobs import job_id

    assert job_id("note_heard", "12:wechat:1::1796093303") == job_id("note_heard", "12:wechat:1::1796093309")
    assert job_id("note_heard", "12:wechat:1::1796093303") != job_id("note_heard", "13:wechat:1::1796093303")
    assert job_id("note_heard", "12:wechat:1::1796093303") != job_id("note_heard", "12:wecom:1::1796093303")
