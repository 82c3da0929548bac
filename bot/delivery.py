"""Deliver the outbox: private notices one by one, group-robot notices paced and merged.

No transaction is open while a message goes out: a short one leases the rows (status "sending"
until `lease_until`; FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on SQLite), the
HTTP calls follow, and a second short one records the outcome. Two workers never send the same
row while its lease runs, and a worker killed mid-send leaves its rows leased: once the lease
ends they count as pending again and go out again, at most once more than needed. A failure is
recorded on the rows and raised, so that the job runner retries; after MAX_ATTEMPTS a row is
marked failed and stays visible.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, NamedTuple, Protocol

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from models import Notice, Person, utcnow
from models.messaging import NOTICE_FAILED, NOTICE_PENDING, NOTICE_SENDING, NOTICE_SENT

from .db import Database
from .links import WishLinks
from .outbound.errors import DeliveryError, OutsideWindow, Throttled
from .outbound.log import LoggingSender
from .outbound.official import OfficialAccountAPI
from .outbound.robot import MARKDOWN_LIMIT, TEXT_LIMIT, GroupRobot, markdown_literal, split_message
from .outbound.wecom_app import WeComAPI
from .pacing import WINDOW

log = logging.getLogger("wishbot.push")

MAX_ATTEMPTS = 6  # the first try and the job runners' five retries
# What to do for a private notice WeChat refused because the resident has not written for 48 hours:
# the outbox rows that pass it on another way (the composition root passes handlers' policy in).
OutsideWindowPolicy = Callable[[Session, Notice], list[Notice]]
BATCH_ROWS = 200  # robot rows one flush takes on


@dataclass
class Outbound:
    robot: GroupRobot
    official: OfficialAccountAPI | LoggingSender  # the log when no Official Account is configured
    wecom: WeComAPI | LoggingSender = field(default_factory=lambda: LoggingSender("WeCom message"))


class Pacer(Protocol):
    def available(self, target: str) -> int: ...

    def take(self, target: str) -> float: ...

    def hold(self, target: str, seconds: float) -> None: ...


class FollowUps(Protocol):
    """What delivery asks of the job runner (bot.jobs): rows are anything with id, channel and
    target; a group-robot row goes straight to its robot's flush."""

    def hand_over(self, notices: list) -> bool: ...

    def schedule_flush(self, target: str, delay: float = 0) -> bool: ...

    def requeue(self, notices: list) -> list[int]: ...


class Queued(NamedTuple):
    """An outbox row as the job runner needs it, read inside the transaction that wrote it."""

    id: int
    channel: str
    target: str


@dataclass
class Message:
    """One robot message and the outbox rows it carries."""

    rows: list[Notice]
    msgtype: str  # "text" or "markdown"
    parts: list[str] = field(default_factory=list)  # several when the text is over the size limit
    sent: int = 0  # parts gone out, by this flush or (resuming) by an earlier one
    error: Exception | None = None


class Delivery:
    def __init__(self, db: Database, outbound: Outbound, pacer: Pacer, jobs: FollowUps, lease: float = 60,
                 *, outside_window: OutsideWindowPolicy, template_ids: dict[str, str] | None = None,
                 links: WishLinks | None = None):
        self.db = db
        self.template_ids = template_ids or {}
        self.links = links
        self.outbound = outbound
        self.pacer = pacer
        self.jobs = jobs
        self.lease = timedelta(seconds=lease)
        self.outside_window = outside_window

    # --- one private notice --------------------------------------------------------------------

    def send_notice(self, notice_id: int) -> None:
        """Send a private notice. A robot row is handed to the jobs as its robot's flush (the
        only job that sends robot messages); should a send_notice job carry one all the same (one
        queued before an upgrade), it has its robot flushed.

        An Official Account notice goes as a customer-service message while the person's window
        is open (or not known), else — or when WeChat answers 45015/45047 — as a template message
        when its kind has one. A notice that cannot go (no template, a template refused for
        good, a WeCom message refused) goes through the person's other channel, else to the
        grid workers to phone through."""
        now = utcnow()
        with self.db.transaction() as session:
            notice = session.scalar(_claimable(now).where(Notice.id == notice_id))
            if notice is None:
                return  # sent, failed for good, or being sent by another worker right now
            lease = None if notice.channel == "robot" else self._lease([notice])
            recipient = _recipient(session, notice)
            window = recipient.window_open(now) if recipient is not None else None
        if lease is None:
            self.jobs.schedule_flush(notice.target)
            return
        # Straight to a template when the window is known closed and the kind has one; without a
        # template the customer-service message is tried all the same (WeChat decides).
        by_template = notice.channel == "official" and window is False and self._template_id(notice) is not None
        error = None if by_template else _attempt(lambda: self._push(notice))
        window_closed = _window_refused(error)
        if notice.channel == "official" and (by_template or window_closed):
            by_template, refused = True, error
            error = _attempt(lambda: self._send_template(notice))
            if isinstance(error, NoTemplate) and refused is not None:
                error = NoTemplate(f"{refused}; {error}", getattr(refused, "code", None))
        # What cannot go this way for good goes another way: the template refused (or none), or
        # WeCom refusing the member.
        fall_back = error is not None and not _retryable(error) and (by_template or notice.channel == "wecom")
        passed_on: list[Queued] = []
        with self.db.transaction() as session:
            for row in _still_leased(session, [notice], lease):
                person = _recipient(session, row)
                if person is not None and window_closed:
                    person.window_closed(utcnow())  # WeChat said so: the next notice goes as a template at once
                elif person is not None and error is None and not by_template:
                    person.used_a_send()
                if fall_back:
                    _failed(row, error, final=True)
                    passed_on = self._pass_on(session, row)
                else:
                    _settle(row, error)
        if passed_on:
            self.jobs.hand_over(passed_on)
        if error is not None and not fall_back:
            raise error

    def _pass_on(self, session: Session, notice: Notice) -> list[Queued]:
        """The resident has not written for 48 hours: queue what the policy sends instead
        (once: a row that is itself a pass-on is not passed on again)."""
        rows = [] if notice.event == "pass_on" else self.outside_window(session, notice)
        session.add_all(rows)
        session.flush()
        return [Queued(row.id, row.channel, row.target) for row in rows]

    def _push(self, notice: Notice) -> None:
        if notice.channel == "official":
            self.outbound.official.send_text(notice.target, notice.text)
        elif notice.channel == "wecom":
            if isinstance(self.outbound.wecom, LoggingSender):  # so the other channel is tried
                raise DeliveryError("no WeCom application configured (WECOM_AGENT_ID, WECOM_SECRET)", retryable=False)
            self.outbound.wecom.send_text([notice.target], notice.text)
        elif notice.channel == "log":
            log.info("push to %s (no destination configured):\n%s", notice.target, notice.text)
        else:
            raise DeliveryError(f"unknown channel {notice.channel}", retryable=False)

    def _template_id(self, notice: Notice) -> str | None:
        kind = json.loads(notice.template)["kind"] if notice.template else None
        return self.template_ids.get(kind) if kind else None

    def _send_template(self, notice: Notice) -> None:
        """The notice as a template message; NoTemplate when its kind has none configured."""
        template = json.loads(notice.template) if notice.template else None
        template_id = self._template_id(notice)
        if template_id is None:
            raise NoTemplate(f"outside the 48-hour window and no template for {notice.event}")
        url = self.links.page_url(notice.wish_id) if self.links is not None and notice.wish_id else None
        self.outbound.official.send_template(notice.target, template_id, template["data"], url=url,
                                             client_msg_id=f"wishbot-notice-{notice.id}")

    # --- a group robot ---------------------------------------------------------------------------

    def flush_robot(self, target: str) -> None:
        """Send what waits for one robot within its budget; merge when more waits than it allows."""
        with self.db.transaction() as session:
            rows = list(session.scalars(
                _claimable(utcnow()).where(Notice.channel == "robot", Notice.target == target).limit(BATCH_ROWS)))
            if not rows:
                return
            messages = compose(rows, self.pacer.available(target))
            lease = self._lease(rows)
        wait = 0.0
        for message in messages:
            wait = self._send_message(target, message)
            if wait or (message.error is not None and _retryable(message.error)):
                break  # the rest waits for the budget, or for the retry of this job
        with self.db.transaction() as session:
            for message in messages:
                for row in _still_leased(session, message.rows, lease):
                    if message.error is None and message.sent < len(message.parts):
                        _release(row, message.sent)  # not sent, or only in part: no attempt spent
                    else:
                        _settle(row, message.error, message.sent)
        if wait:
            self.jobs.schedule_flush(target, wait)
        failure = next((m.error for m in messages if m.error is not None and _retryable(m.error)), None)
        if failure is not None:
            raise failure

    def _send_message(self, target: str, message: Message) -> float:
        """Send the parts not yet sent, each within the budget: 0, or the seconds until it
        allows the next. A failure is left on the message."""
        while message.sent < len(message.parts):
            wait = self.pacer.take(target)
            if wait:
                return wait
            message.error = _attempt(lambda: self._send_robot(target, message.msgtype, message.parts[message.sent]))
            if message.error is not None:
                if isinstance(message.error, Throttled):
                    self.pacer.hold(target, WINDOW)
                return 0.0
            message.sent += 1
        return 0.0

    def _send_robot(self, target: str, msgtype: str, content: str) -> None:
        if msgtype == "markdown":
            self.outbound.robot.send_markdown(target, content)
        else:
            self.outbound.robot.send_text(target, content)

    def _lease(self, rows: list[Notice]) -> datetime:
        lease = utcnow() + self.lease
        for row in rows:
            row.status, row.lease_until = NOTICE_SENDING, lease
        return lease

    # --- the relay -------------------------------------------------------------------------------

    def relay(self, min_age: float = 0) -> list[int]:
        """Hand pending rows older than `min_age` seconds to the jobs again: rows committed
        while Redis was down, and rows whose worker was killed (once their lease ran out); a
        group-robot row as its robot's flush, as after commit. Returns the ids requeued."""
        now = utcnow()
        with self.db.sessions() as session:
            rows = [Queued(*row) for row in session.execute(
                select(Notice.id, Notice.channel, Notice.target).where(
                    _waiting(now), Notice.created_at <= now - timedelta(seconds=min_age))
                .order_by(Notice.id).limit(5000))]
        requeued = self.jobs.requeue(rows) if rows else []
        if requeued:
            log.info("relay: %d pending notices handed to the jobs again", len(requeued))
        return requeued


def reopen_failed(session: Session, query=None) -> list[Notice]:
    """Make the notices that failed for good pending again, with a fresh set of attempts (a
    message sent in part resumes after its parts already out): the ones `query` selects
    (a select of Notice, e.g. narrowed to a login's scope), or all. The caller commits, then
    hands the rows to the jobs."""
    query = select(Notice) if query is None else query
    rows = list(session.scalars(query.where(Notice.status == NOTICE_FAILED).order_by(Notice.id).with_for_update()))
    for row in rows:
        row.status, row.attempts, row.lease_until = NOTICE_PENDING, 0, None
    return rows


def compose(rows: list[Notice], budget: int) -> list[Message]:
    """Each row its own text message while the budget allows; otherwise markdown lists naming
    them all, each within the robot's size limit. A row too long for one text always goes on its
    own, in text parts split the same way on every attempt, so that a retry resumes after the
    parts already sent."""
    merge = len(rows) > budget
    own = [row for row in rows if not merge or len(row.text.encode()) > TEXT_LIMIT]
    listed = [row for row in rows if merge and len(row.text.encode()) <= TEXT_LIMIT]
    return _lists(listed) + [Message([row], "text", split_message(row.text, TEXT_LIMIT), sent=row.parts_sent)
                             for row in own]


def _lists(rows: list[Notice]) -> list[Message]:
    """Markdown lists of `rows`, a new one wherever the next item would pass the size limit."""
    if not rows:
        return []
    header = f"**最新消息（共{len(rows)}条）**"
    messages = [Message([], "markdown", [header])]
    size = len(header.encode())
    for row in rows:
        item = "- " + markdown_literal(row.text)
        item_size = len(item.encode()) + 1  # and its newline
        if size + item_size > MARKDOWN_LIMIT:
            messages.append(Message([], "markdown", []))
            size = -1
        messages[-1].rows.append(row)
        messages[-1].parts.append(item)
        size += item_size
    for message in messages:
        message.parts = ["\n".join(message.parts)]
    return messages


def _waiting(now: datetime):
    """Pending rows, and rows whose sender's lease ran out (a worker killed mid-send)."""
    return or_(Notice.status == NOTICE_PENDING, and_(Notice.status == NOTICE_SENDING, Notice.lease_until <= now))


def _claimable(now: datetime):
    """Rows to lease, locked for this transaction; rows another worker holds are skipped."""
    return select(Notice).where(_waiting(now)).order_by(Notice.id).with_for_update(skip_locked=True)


def _still_leased(session: Session, rows: list[Notice], lease: datetime) -> list[Notice]:
    """The rows as they are now, less any another worker took over when the lease ran out."""
    return list(session.scalars(select(Notice).where(
        Notice.id.in_([row.id for row in rows]), Notice.status == NOTICE_SENDING, Notice.lease_until == lease)
        .order_by(Notice.id).with_for_update()))


def _attempt(send) -> Exception | None:
    try:
        send()
    except Exception as error:  # recorded on the rows, raised by the job when worth a retry
        return error
    return None


def _retryable(error: Exception) -> bool:
    return getattr(error, "retryable", True)


def _settle(notice: Notice, error: Exception | None, parts_sent: int = 0) -> None:
    if error is None:
        _sent(notice)
    else:
        _failed(notice, error)
        notice.parts_sent = parts_sent


def _release(notice: Notice, parts_sent: int) -> None:
    notice.status, notice.lease_until, notice.parts_sent = NOTICE_PENDING, None, parts_sent


def _sent(notice: Notice) -> None:
    notice.attempts += 1
    notice.status = NOTICE_SENT
    notice.sent_at = utcnow()
    notice.lease_until = None
    notice.last_error = None


def _failed(notice: Notice, error: Exception, final: bool = False) -> None:
    notice.attempts += 1
    notice.last_error = (str(error) or type(error).__name__)[:500]
    notice.lease_until = None
    if final or not _retryable(error) or notice.attempts >= MAX_ATTEMPTS:
        notice.status = NOTICE_FAILED
        log.error("notice %s failed for good: %s", notice.id, notice.last_error)
    else:
        notice.status = NOTICE_PENDING


class NoTemplate(DeliveryError):
    """Outside the customer-service window, and the notice's kind has no template configured."""


QUOTA_USED = 45047


def _window_refused(error: Exception | None) -> bool:
    """WeChat's answer that the customer-service window is closed (45015) or used up (45047)."""
    return isinstance(error, OutsideWindow) or getattr(error, "code", None) == QUOTA_USED


def _recipient(session: Session, notice: Notice) -> Person | None:
    """Whom a private notice reaches (its target may be a grid worker passing it on)."""
    if notice.channel == "official":
        return session.scalar(select(Person).where(Person.openid == notice.target))
    if notice.channel == "wecom":
        return session.scalar(select(Person).where(Person.wecom_userid == notice.target))
    return None
