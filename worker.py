"""RQ job functions and the worker entry point. Jobs take ids and open their own transaction."""
from __future__ import annotations

import logging
import os

from bot.runtime import Runtime
from bot.settings import Settings

log = logging.getLogger("wishbot.worker")
_runtime: Runtime | None = None
_runtime_pid: int | None = None


def runtime() -> Runtime:
    """One Runtime per process: an engine's pool must never cross a fork."""
    global _runtime, _runtime_pid
    if _runtime is None or _runtime_pid != os.getpid():
        _runtime, _runtime_pid = Runtime(Settings.from_env()), os.getpid()
    return _runtime


def send_notice(notice_id: int) -> None:
    runtime().send_notice(notice_id)


def run_worker(settings: Settings, burst: bool = False) -> None:
    from rq import Worker

    from bot.jobs import QUEUE_NAME

    if not settings.redis_url:
        raise SystemExit("WISHBOT_REDIS_URL is not set: without Redis, jobs run inside `wishbot serve`.")
    rt = Runtime(settings)
    worker = Worker([QUEUE_NAME], connection=rt.redis)
    worker.work(with_scheduler=True, burst=burst)
