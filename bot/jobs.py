"""Hand committed outbox rows to a job runner: RQ when Redis is configured, else in-process."""
from __future__ import annotations

import logging
import queue
import threading
import time
from typing import Callable, Iterable

log = logging.getLogger(__name__)

RETRY_INTERVALS = (5, 30, 120, 600, 1800)  # seconds between attempts; then the row stays visible
QUEUE_NAME = "wishbot"


class InProcessJobs:
    """A single background thread, so pushes keep their order and the reply is never held up."""

    def __init__(self, send: Callable[[int], None], intervals: tuple[float, ...] = RETRY_INTERVALS):
        self.send = send
        self.intervals = intervals
        self.queue: queue.Queue[tuple[int, int]] = queue.Queue()
        self._timers: set[threading.Timer] = set()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="wishbot-jobs", daemon=True)
        self._thread.start()

    def enqueue(self, notice_ids: Iterable[int]) -> None:
        for notice_id in notice_ids:
            self.queue.put((notice_id, 0))

    def close(self) -> None:
        """Stop retrying; whatever is still pending stays in the outbox."""
        self._closed = True
        for timer in list(self._timers):
            timer.cancel()

    def join(self, timeout: float = 10) -> None:
        """Wait until every queued notice has been tried (tests and the CLI use this)."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _run(self) -> None:
        while True:
            notice_id, attempt = self.queue.get()
            if self._closed:
                self.queue.task_done()
                continue
            try:
                self.send(notice_id)
            except Exception as error:  # the failure is recorded on the row by deliver()
                if getattr(error, "retryable", True) and attempt < len(self.intervals):
                    delay = self.intervals[attempt]
                    log.warning("notice %s failed (%s); retry in %ss", notice_id, error, delay)
                    self._retry_later(notice_id, attempt + 1, delay)
                else:
                    log.error("notice %s failed for good: %s", notice_id, error)
            finally:
                self.queue.task_done()


    def _retry_later(self, notice_id: int, attempt: int, delay: float) -> None:
        def fire() -> None:
            self._timers.discard(timer)
            self.queue.put((notice_id, attempt))

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        self._timers.add(timer)
        timer.start()


class RQJobs:
    """Enqueue `worker.send_notice` after commit. If Redis is down the rows stay pending in the
    outbox and the relay enqueues them later: nothing is lost."""

    def __init__(self, redis_connection):
        from rq import Queue

        self.queue = Queue(QUEUE_NAME, connection=redis_connection)

    def enqueue(self, notice_ids: Iterable[int]) -> None:
        from rq import Retry

        for notice_id in notice_ids:
            try:
                self.queue.enqueue(
                    "worker.send_notice", notice_id,
                    job_id=f"notice-{notice_id}",
                    retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)),
                    result_ttl=3600, failure_ttl=7 * 86400,
                )
            except Exception as error:  # redis.ConnectionError and friends
                log.warning("could not enqueue notice %s (%s); left pending for the relay", notice_id, error)

    def join(self, timeout: float = 10) -> None:
        pass

    def close(self) -> None:
        pass
