"""Run jobs after commit: on RQ when Redis is configured, else on a thread of this process.

A job is a name from JOBS and one argument (an id, or a robot target). It runs as
`Runtime.<name>(argument)`: in-process directly, on RQ through `worker.run`. It opens its own
transaction and raises on failure so that the runner retries it. A name not in JOBS is refused
when it is queued, never after the commit that asked for it.
"""
from __future__ import annotations

import hashlib
import logging
import queue
import re
import threading
import time
from datetime import timedelta
from typing import Callable, Iterable

from .pacing import robot_key

log = logging.getLogger(__name__)

RETRY_INTERVALS = (5, 30, 120, 600, 1800)  # seconds between attempts; then the row stays visible
QUEUE_NAME = "wishbot"
Job = tuple[str, object]  # (name, argument)

# The one table of jobs.
SEND_NOTICE = "send_notice"  # a private notice, by id
FLUSH_ROBOT = "flush_robot"  # what waits for one group robot, by its target
RELAY_NOTICES = "relay_notices"  # pending rows whose job was lost (the clock, at start-up)
SEND_DIGESTS = "send_digests"  # the clock, daily
SEND_REMINDERS = "send_reminders"  # the clock, hourly
FETCH_PROOF = "fetch_proof"  # a completion photo, by Proof id
PURGE_PROCESSED = "purge_processed"  # the clock, hourly: processed messages past retention
RETAG_PERSON = "retag_person"  # a person's menu tags after their roles changed, by Person id
NOTE_HEARD = "note_heard"  # when a person wrote, for a read-only message ("id:channel:message:event:time")
RUN_EXPORT = "run_export"  # a large export's file, by ExportJob id (web/export_jobs.py)
REFRESH_FIGURES = "refresh_figures"  # the clock, every few minutes: the figures' roll-up (bot/rollup.py)
JOBS = frozenset({SEND_NOTICE, FLUSH_ROBOT, RELAY_NOTICES, SEND_DIGESTS, SEND_REMINDERS, FETCH_PROOF,
                  PURGE_PROCESSED, RETAG_PERSON, NOTE_HEARD, RUN_EXPORT, REFRESH_FIGURES})
# Seconds a worker may spend on one job where RQ's default (180) is too short.
TIMEOUTS = {RUN_EXPORT: 3600, REFRESH_FIGURES: 1800}  # a first build at a million wishes
# The jobs a handler may ask for (Context.run_after_commit); the composition root queues
# RETAG_PERSON and NOTE_HEARD itself, after a commit that changed roles or for a read-only message.
AFTER_COMMIT = frozenset({FETCH_PROOF})


class UnknownJob(ValueError):
    pass


def checked(name: str, among: frozenset[str] = JOBS) -> str:
    if name not in among:
        raise UnknownJob(f"unknown job {name}")
    return name


_NOT_IN_JOB_IDS = re.compile(r"[^A-Za-z0-9_-]")  # RQ refuses any other character in a job id


def job_id(name: str, arg: object) -> str:
    """One id per unit of work, so that enqueueing it again replaces it instead of adding one."""
    if name == SEND_NOTICE:
        return f"notice-{arg}"
    if name == FLUSH_ROBOT:
        return f"flush-{robot_key(str(arg))}"
    # One hearing per person, channel and kind while one waits: their next messages before it
    # runs would only note a few seconds later (the window is kept to the hour).
    text = str(arg).rsplit(":", 1)[0] if name == NOTE_HEARD else str(arg)
    safe = _NOT_IN_JOB_IDS.sub("_", text)
    if safe != text:  # keep ids distinct that differ only in the characters replaced
        safe += "-" + hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{name}-{safe}"


def job_of(notice) -> Job:
    """The job that sends an outbox row (anything with id, channel and target): a private row
    its own; a group-robot row its robot's flush, the only job that sends robot messages, so
    that each retry of it is one attempt for every row it carries."""
    return (FLUSH_ROBOT, notice.target) if notice.channel == "robot" else (SEND_NOTICE, notice.id)


def jobs_for(notices: Iterable) -> list[Job]:
    """The jobs that send these rows, each once: the private rows' in order, then one flush
    per robot."""
    private: list[Job] = []
    robots: dict[Job, None] = {}
    for notice in notices:
        job = job_of(notice)
        if job[0] == FLUSH_ROBOT:
            robots.setdefault(job)
        else:
            private.append(job)
    return [*private, *robots]


class Jobs:
    """What both runners share; each provides `call(name, arg, delay)`."""

    def call(self, name: str, arg: object, delay: float = 0) -> bool:
        """Queue the job; False when the runner did not take it (the relay will)."""
        raise NotImplementedError

    def hand_over(self, notices: Iterable, more: Iterable[Job] = ()) -> bool:
        """Committed outbox rows (the jobs of `jobs_for`), then `more` jobs (a handler's
        after-commit ones). False when the runner did not take them all: when Redis is down or
        hangs, asking again for each row would only add its timeout to the reply's wait, and
        the relay hands them all over."""
        return self.call_many([*jobs_for(notices), *more])

    def requeue(self, notices: Iterable) -> list[int]:
        """Hand pending outbox rows over again (the relay), as after commit: the jobs of
        `jobs_for`. Returns the ids of the rows handed over."""
        rows = list(notices)
        self.call_many(jobs_for(rows))
        return [row.id for row in rows]

    def call_many(self, jobs: list[Job]) -> bool:
        """Queue each job in turn, stopping at the first the runner does not take (False)."""
        return all(self.call(name, arg) for name, arg in jobs)

    def enqueue(self, notice_ids: Iterable[int]) -> bool:
        """A send_notice job per id (for a robot row, that job only asks for the flush)."""
        return self.call_many([(SEND_NOTICE, notice_id) for notice_id in notice_ids])

    def schedule_flush(self, target: str, delay: float = 0) -> bool:
        return self.call(FLUSH_ROBOT, target, delay)

    def join(self, timeout: float = 10) -> None:
        pass

    def close(self) -> None:
        pass


class InProcessJobs(Jobs):
    """A single background thread, so pushes keep their order and the reply is never held up."""

    def __init__(self, perform: Callable[[str, object], None], intervals: tuple[float, ...] = RETRY_INTERVALS):
        self.perform = perform
        self.intervals = intervals
        self.queue: queue.Queue[tuple[Job, int]] = queue.Queue()
        self._waiting: set[str] = set()  # job ids queued or on a timer
        self._timers: set[threading.Timer] = set()
        self._mutex = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="wishbot-jobs", daemon=True)
        self._thread.start()

    def call(self, name: str, arg: object, delay: float = 0) -> bool:
        checked(name)
        with self._mutex:
            if job_id(name, arg) in self._waiting:
                return True
        self._submit((name, arg), 0, delay)
        return True

    def close(self) -> None:
        """Stop retrying; whatever is still pending stays in the outbox."""
        self._closed = True
        for timer in list(self._timers):
            timer.cancel()

    def join(self, timeout: float = 10) -> None:
        """Wait until every queued job has been tried (tests and the CLI use this)."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)

    def _run(self) -> None:
        while True:
            job, attempt = self.queue.get()
            with self._mutex:
                self._waiting.discard(job_id(*job))
            try:
                if not self._closed:
                    self.perform(*job)
            except Exception as error:  # the job has recorded the failure on its rows
                if getattr(error, "retryable", True) and attempt < len(self.intervals) and not self._closed:
                    delay = self.intervals[attempt]
                    log.warning("job %s failed (%s); retry in %ss", job_id(*job), error, delay)
                    self._submit(job, attempt + 1, delay)
                else:
                    log.error("job %s failed for good: %s", job_id(*job), error)
            finally:
                self.queue.task_done()

    def _submit(self, job: Job, attempt: int, delay: float) -> None:
        with self._mutex:
            self._waiting.add(job_id(*job))
        if delay <= 0:
            self.queue.put((job, attempt))
            return

        def fire() -> None:
            self._timers.discard(timer)
            self.queue.put((job, attempt))

        timer = threading.Timer(delay, fire)
        timer.daemon = True
        self._timers.add(timer)
        timer.start()


class RQJobs(Jobs):
    """Enqueue `worker.run` after commit. If Redis is down the rows stay pending in the
    outbox and the relay enqueues them later: nothing is lost."""

    # A job in one of these states will run; enqueueing it again would only run it twice.
    WILL_RUN = frozenset({"queued", "scheduled", "deferred"})

    def __init__(self, redis_connection):
        from rq import Queue

        self.queue = Queue(QUEUE_NAME, connection=redis_connection)

    def call(self, name: str, arg: object, delay: float = 0) -> bool:
        """Enqueue the job unless it will run anyway: enqueueing a job that waits for its retry
        would run it now as well, and spend an attempt of every row it carries."""
        options = self._options(name, arg)
        try:
            if self._will_run([options["job_id"]]):
                return True
            if delay > 0:
                self.queue.enqueue_in(timedelta(seconds=delay), "worker.run", name, arg, **options)
            else:
                self.queue.enqueue("worker.run", name, arg, **options)
        except Exception as error:  # redis.ConnectionError, TimeoutError and friends
            log.warning("could not enqueue %s (%s); left for the relay", options["job_id"], error)
            return False
        return True

    def call_many(self, jobs: list[Job]) -> bool:
        """All the jobs in two round trips, whatever their number (which of them will run anyway,
        then one pipeline for the others), instead of several each: a message's notices are
        handed over while its reply waits. All are taken, or none (False: the relay will).
        Redis is not asked about a private row's send_notice: it is asked for when its row was
        just committed or made pending again (its job is new, or done with the row), or by the
        relay, which looked first (requeue) — so a message whose notices are all private costs
        one round trip."""
        # one job per unit of work; an unknown name is refused here, before Redis is asked
        by_id = {job_id(name, arg): (name, arg, self._options(name, arg)) for name, arg in jobs}
        if not by_id:
            return True
        try:
            will_run = self._will_run([key for key, (name, _, _) in by_id.items() if name != SEND_NOTICE])
            todo = [self.queue.prepare_data("worker.run", (name, arg), timeout=options.pop("job_timeout", None),
                                            **options)
                    for key, (name, arg, options) in by_id.items() if key not in will_run]
            if todo:
                self.queue.enqueue_many(todo)
        except Exception as error:  # redis.ConnectionError, TimeoutError and friends
            log.warning("could not enqueue %s (%s); left for the relay", ", ".join(by_id), error)
            return False
        return True

    @staticmethod
    def _options(name: str, arg: object) -> dict:
        from rq import Retry

        checked(name)
        options = dict(job_id=job_id(name, arg), result_ttl=3600, failure_ttl=7 * 86400,
                       retry=Retry(max=len(RETRY_INTERVALS), interval=list(RETRY_INTERVALS)))
        if name in TIMEOUTS:
            options["job_timeout"] = TIMEOUTS[name]
        return options

    def requeue(self, notices: Iterable) -> list[int]:
        """Queue the jobs of the rows whose job will not run (lost with Redis, or its worker
        killed): a robot row's is its robot's flush."""
        rows = list(notices)
        will_run = self._will_run(list(dict.fromkeys(job_id(*job_of(row)) for row in rows)))
        again = [row for row in rows if job_id(*job_of(row)) not in will_run]
        self.call_many(jobs_for(again))
        return [row.id for row in again]

    def _will_run(self, job_ids: list[str]) -> set[str]:
        if not job_ids:
            return set()
        from rq.job import Job as RQJob

        jobs = RQJob.fetch_many(job_ids, connection=self.queue.connection)
        return {job.id for job in jobs if job is not None and job.get_status(refresh=False) in self.WILL_RUN}
