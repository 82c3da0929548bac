"""Deliver the outbox: private notices one by one, group-robot notices paced and merged.

Every send happens inside the transaction that locks its rows (FOR UPDATE SKIP LOCKED on
PostgreSQL; SQLite's BEGIN IMMEDIATE serialises writers) and marks them sent. Two workers
never send the same row, and a worker killed mid-send leaves its rows pending: they go out
again, at most once more than needed. A failure is recorded on the rows and raised, so that
the job runner retries; after MAX_ATTEMPTS a row is marked failed and stays visible.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Notice, utcnow
from models.messaging import NOTICE_FAILED, NOTICE_PENDING, NOTICE_SENT

from .db import Database
from .outbound.errors import DeliveryError, OutsideWindow, Throttled
from .outbound.log import LoggingSender
from .outbound.official import OfficialAccountAPI
from .outbound.robot import MARKDOWN_LIMIT, TEXT_LIMIT, GroupRobot, split_message
from .pacing import WINDOW

log = logging.getLogger("wishbot.push")

MAX_ATTEMPTS = 6  # the first try and the job runners' five retries
BATCH_ROWS = 200  # robot rows one flush takes on


@dataclass
class Outbound:
    robot: GroupRobot
    official: OfficialAccountAPI | LoggingSender  # the log when no Official Account is configured


class Pacer(Protocol):
    def available(self, target: str) -> int: ...

    def take(self, target: str) -> float: ...

    def hold(self, target: str, seconds: float) -> None: ...


class FollowUps(Protocol):
    """What delivery asks of the job runner (bot.jobs)."""

    def enqueue(self, notice_ids: list[int]) -> None: ...

    def flush_later(self, target: str, delay: float) -> None: ...

    def requeue(self, notice_ids: list[int]) -> list[int]: ...


@dataclass
class Message:
    """One robot message and the outbox rows it carries."""

    rows: list[Notice]
    msgtype: str  # "text" or "markdown"
    parts: list[str] = field(default_factory=list)  # several when the text is over the size limit


class Delivery:
    def __init__(self, db: Database, outbound: Outbound, pacer: Pacer, jobs: FollowUps):
        self.db = db
        self.outbound = outbound
        self.pacer = pacer
        self.jobs = jobs

    # --- one private notice --------------------------------------------------------------------

    def send_notice(self, notice_id: int) -> None:
        robot_target = None
        new_ids: list[int] = []
        failure: Exception | None = None
        with self.db.transaction() as session:
            notice = session.scalar(_pending().where(Notice.id == notice_id))
            if notice is None:
                return  # sent, failed for good, or being sent by another worker right now
            if notice.channel == "robot":
                robot_target = notice.target
            else:
                try:
                    self._push(notice)
                except OutsideWindow as error:
                    _failed(notice, error, final=True)
                    new_ids = _pass_on_by_phone(session, notice)
                except Exception as error:
                    _failed(notice, error)
                    failure = error
                else:
                    _sent(notice)
        if robot_target is not None:
            self.flush_robot(robot_target)
        if new_ids:
            self.jobs.enqueue(new_ids)
        if failure is not None:
            raise failure

    def _push(self, notice: Notice) -> None:
        if notice.channel == "official":
            self.outbound.official.send_text(notice.target, notice.text)
        elif notice.channel == "log":
            log.info("push to %s (no destination configured):\n%s", notice.target, notice.text)
        else:
            raise DeliveryError(f"unknown channel {notice.channel}", retryable=False)

    # --- a group robot ---------------------------------------------------------------------------

    def flush_robot(self, target: str) -> None:
        """Send what waits for one robot within its budget; merge when more waits than it allows."""
        failure: Exception | None = None
        wait = 0.0
        with self.db.transaction() as session:
            rows = list(session.scalars(
                _pending().where(Notice.channel == "robot", Notice.target == target).limit(BATCH_ROWS)))
            if not rows:
                return
            for message in compose(rows, self.pacer.available(target)):
                wait = self._take(target, len(message.parts))
                if wait:
                    break
                try:
                    for part in message.parts:
                        self._send_robot(target, message.msgtype, part)
                except Exception as error:
                    if isinstance(error, Throttled):
                        self.pacer.hold(target, WINDOW)
                    for row in message.rows:
                        _failed(row, error)
                    failure = error
                    break
                for row in message.rows:
                    _sent(row)
        if wait:
            self.jobs.flush_later(target, wait)
        if failure is not None:
            raise failure

    def _take(self, target: str, messages: int) -> float:
        """Spend the budget of `messages` messages: 0, or the seconds until it allows one."""
        for _ in range(messages):
            wait = self.pacer.take(target)
            if wait:
                return wait
        return 0.0

    def _send_robot(self, target: str, msgtype: str, content: str) -> None:
        if msgtype == "markdown":
            self.outbound.robot.send_markdown(target, content)
        else:
            self.outbound.robot.send_text(target, content)

    # --- the relay -------------------------------------------------------------------------------

    def relay(self, min_age: float = 0) -> list[int]:
        """Hand pending rows older than `min_age` seconds to the jobs again: rows committed
        while Redis was down, and rows whose worker was killed. Returns the ids requeued."""
        cutoff = utcnow() - timedelta(seconds=min_age)
        with self.db.sessions() as session:
            ids = list(session.scalars(select(Notice.id).where(
                Notice.status == NOTICE_PENDING, Notice.created_at <= cutoff).order_by(Notice.id).limit(5000)))
        requeued = self.jobs.requeue(ids) if ids else []
        if requeued:
            log.info("relay: %d pending notices handed to the jobs again", len(requeued))
        return requeued


def compose(rows: list[Notice], budget: int) -> list[Message]:
    """Each row its own text message while the budget allows; otherwise one markdown list
    naming them all, split where it would pass the robot's size limit."""
    if len(rows) <= budget:
        return [Message([row], "text", split_message(row.text, TEXT_LIMIT)) for row in rows]
    messages: list[Message] = []
    header = f"**最新消息（共{len(rows)}条）**"
    current = Message([], "markdown", [header])
    size = len(header.encode())
    for row in rows:
        item = "- " + " ".join(row.text.split("\n"))
        item_size = len(item.encode()) + 1  # and its newline
        if size + item_size > MARKDOWN_LIMIT and current.rows:
            messages.append(current)
            current, size = Message([], "markdown", []), -1
        current.rows.append(row)
        current.parts.append(item)
        size += item_size
    messages.append(current)
    for message in messages:
        message.parts = split_message("\n".join(message.parts), MARKDOWN_LIMIT)
    return messages


def _pending():
    """Pending rows, locked for this transaction; rows another worker holds are skipped."""
    return (select(Notice).where(Notice.status == NOTICE_PENDING).order_by(Notice.id)
            .with_for_update(skip_locked=True))


def _sent(notice: Notice) -> None:
    notice.attempts += 1
    notice.status = NOTICE_SENT
    notice.sent_at = utcnow()
    notice.last_error = None


def _failed(notice: Notice, error: Exception, final: bool = False) -> None:
    notice.attempts += 1
    notice.last_error = (str(error) or type(error).__name__)[:500]
    if final or not getattr(error, "retryable", True) or notice.attempts >= MAX_ATTEMPTS:
        notice.status = NOTICE_FAILED
        log.error("notice %s failed for good: %s", notice.id, notice.last_error)


def _pass_on_by_phone(session: Session, notice: Notice) -> list[int]:
    """The resident has not written for 48 hours: ask the grid workers to phone them."""
    from handlers.notices import pass_on_by_phone

    rows = [] if notice.fallback_for_id else pass_on_by_phone(session, notice)
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]
