"""RQ job functions and the worker entry point. Jobs take ids and open their own transaction."""
from __future__ import annotations

import logging
import os
import time

import redis
from rq import SimpleWorker

from bot.clock import Clock, redis_claims
from bot.jobs import QUEUE_NAME, RELAY_NOTICES
from bot.settings import Settings
from composition.runtime import Runtime

log = logging.getLogger("wishbot.worker")
_runtime: Runtime | None = None
_runtime_pid: int | None = None


def runtime() -> Runtime:
    """One Runtime per process: an engine's pool must never cross a fork."""
    global _runtime, _runtime_pid
    if _runtime is None or _runtime_pid != os.getpid():
        _runtime, _runtime_pid = Runtime(Settings.from_env()), os.getpid()
    return _runtime


def run(name: str, arg) -> None:
    """Every job of bot.jobs.JOBS: RQ calls this with the job's name and argument; it raises
    so that RQ retries."""
    runtime().perform(name, arg)


def run_worker(settings: Settings, burst: bool = False) -> None:
    global _runtime, _runtime_pid
    if not settings.redis_url:
        raise SystemExit("WISHBOT_REDIS_URL is not set: without Redis, jobs run inside `wishbot serve`.")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    rt = Runtime(settings)
    _runtime, _runtime_pid = rt, os.getpid()  # the jobs run in this process and use it too
    rt.jobs.call(RELAY_NOTICES, 0)  # whatever a killed worker or a Redis outage left pending goes first
    if not burst:
        Clock(settings, rt.jobs, redis_claims(rt.redis)).start()
    _work(rt, burst)


def _work(rt: Runtime, burst: bool) -> None:
    """RQ's worker, started again whenever it quits because Redis went away."""
    pause = 1.0
    while True:
        worker = None
        try:
            # A frequent maintenance lets a live worker take over a killed one's scheduler quickly.
            worker = _Worker([QUEUE_NAME], connection=rt.redis, maintenance_interval=30)
            worker.work(with_scheduler=True, burst=burst)
        except redis.RedisError as error:  # from RQ's teardown, while Redis is still away
            log.warning("worker stopped: %s", error)
        # RQ quits on an error it did not expect, such as Redis going away in the middle of a job.
        if burst or (worker is not None and worker.stop_requested):
            return
        log.warning("worker quit unexpectedly; starting again in %.0f s", pause)
        time.sleep(pause)
        pause = min(pause * 2, 5)  # short: what waited while Redis was away should go soon after


class _Worker(SimpleWorker):
    """Jobs run in this process one at a time, reusing its database pool and clients: no fork per
    job. Remembers whether a signal asked it to stop, which RQ's worker does not tell."""

    stop_requested = False

    def request_stop(self, signum, frame):
        self.stop_requested = True
        super().request_stop(signum, frame)
