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
