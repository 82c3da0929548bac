"""One message, one transaction: deduplicate, find the sender, route, reply.

A retried delivery (same message key) hits the unique constraint on ProcessedMessage and
gets the stored reply. A UserError rolls back the handler's changes, and the delivery is then
recorded with its reply in a transaction of its own. Any other error rolls everything back, is logged,
and the user gets a polite "busy" answer — never the exception text, never silence.

A command that only reads (`read_only` in the router: lists, 查询, 帮助) from a sender already
known skips all of that: it is answered from committed data through Database.reads(), takes no
write lock and records nothing, so a retry simply reads again. Only what changes data needs
the recorded answer. (The sender's 48-hour window is noted apart from the answer, when due:
see Conversation._note_heard.)
"""
from __future__ import annotations

import logging
from typing import Callable

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from bot.db import Database
from bot.inbound import Inbound
from bot.jobs import NOTE_HEARD
from bot.router import Match, Router
from bot.settings import Settings
from bot.text import normalise, without_trailing_punctuation
from handlers import run_match
from handlers.arrival import arrive
from handlers.context import Context
from handlers.help import hint
from handlers.media import attach_photo
from models import Grid, NotAllowed, Notice, Person, ProcessedMessage, UserError, utcnow
from models.directory import PersonFacts, Sender

log = logging.getLogger(__name__)

# Asked inside the message's transaction, before and after the handler: a refusal (the reply)
# undoes what the handler did, or None to keep it. /sim uses it to hold staff to their scope.
Guard = Callable[[Session, Person], str | None]

BUSY = "系统繁忙，请稍后再试。"
NEW_PERSON_NAME = "微信用户"
MAX_REPLY_BYTES = 2000
ATTEMPTS = 3
CUT_NOTE = "……内容较多，完整记录请到管理台查看。"
# Built once: building and keying a statement costs more than running it.
_DELIVERY = select(ProcessedMessage).where(ProcessedMessage.key == bindparam("key"))
# The sender by the identity of the channel they wrote on (Official Account openid, WeCom UserID).
_IDENTITIES = (Person.openid, Person.wecom_userid)
# A read-only answer needs only what the sender is and where: a plain row (a Sender), which costs
# a fraction of loading the mapped Person.
_SENDER_FACTS = {
    column.key: select(*(getattr(Person, name) for name in Sender.__dataclass_fields__ if name != "grid_community_id"),
                       func.coalesce(Grid.community_id, Person.community_id).label("grid_community_id"))
    .outerjoin(Grid, Person.grid_id == Grid.id).where(column == bindparam("identity"))
    for column in _IDENTITIES}
# What changes data reads of the sender's place (a new wish's community and grid, a claim's unit,
# the community's robot): loaded with them rather than one query each.
_SENDER_AND_PLACE = {column.key: select(Person).where(column == bindparam("identity")).options(
    joinedload(Person.community), joinedload(Person.grid), joinedload(Person.unit)) for column in _IDENTITIES}


def fit_reply(reply: str | None) -> str | None:
    """WeChat drops a passive reply over 2048 bytes: cut a long one at a line, and say so."""
    if reply is None or len(reply.encode()) <= MAX_REPLY_BYTES:
        return reply
    kept: list[str] = []
    size = len(CUT_NOTE.encode())
    for line in reply.split("\n"):
        size += len(line.encode()) + 1
        if size > MAX_REPLY_BYTES:
            break
        kept.append(line)
    return "\n".join(kept + [CUT_NOTE])


class Conversation:
    def __init__(self, db: Database, after_commit: Callable[[list[Notice], list[tuple[str, int]]], None],
                 router: Router, understand: Callable[[Context, str], str | None], points_per_hour: float = 1.0,
                 settings: Settings | None = None, note_heard: Callable[[str], None] | None = None):
        self.db = db
        self.settings = settings
        self.after_commit = after_commit  # (outbox rows, (job name, id) pairs) once committed
        self.router = router
        self.understand = understand  # text that is no command: a wish in the resident's own words?
        self.points_per_hour = points_per_hour
        # Records a read-only message's hearing (`id:channel:message:event:unix time`, see
        # bot.jobs.NOTE_HEARD) at once; without it, a job does after the answer.
        self.note_heard = note_heard

    def handle(self, inbound: Inbound, guard: Guard | None = None) -> str | None:
        """The reply text for one delivery (None: no reply)."""
        match = self._read_only_match(inbound)
        if match is not None:
            try:
                reply = self._answer_reading(inbound, match, guard)
            except Exception:
                log.exception("message %s from %s failed", inbound.message_key, inbound.sender)
                return BUSY
            if reply is not None:
                return reply
        for _attempt in range(ATTEMPTS):
            try:
                reply, notices, jobs = self._handle_once(inbound, guard)
                break
            except IntegrityError:
                # Either this delivery was answered already, or a concurrent retry of it committed
                # first (answer as it did), or another message raced this one to a unique row (two
                # first messages from a new sender both creating them): then it runs again and
                # finds the row.
                stored = self._stored(inbound.message_key)
                if stored is not None:
                    return stored.reply
            except Exception:
                log.exception("message %s from %s failed", inbound.message_key, inbound.sender)
                return BUSY
        else:
            log.error("message %s from %s kept conflicting; gave up", inbound.message_key, inbound.sender)
            return BUSY
        self.after_commit(notices, jobs)
        return reply

    def _read_only_match(self, inbound: Inbound) -> Match | None:
        if inbound.kind == "event":
            text = normalise(inbound.event_key) if inbound.event == "click" else ""
        else:
            text = normalise(inbound.text) if inbound.kind != "image" else ""
        match = self.router.match(without_trailing_punctuation(text)) if text else None
        return match if match is not None and match.command.read_only else None

    def _answer_reading(self, inbound: Inbound, match: Match, guard: Guard | None = None) -> str | None:
        """The answer to a read-only command; None when the sender is new (the write path adds them)."""
        now = utcnow()
        with self.db.chat_reads() as session:
            row = session.connection().execute(_SENDER_FACTS[_identity(inbound).key],
                                               {"identity": inbound.sender}).first()
            if row is None:
                return None
            person = Sender(*row)
            try:
                self._check(guard, session, person)
                reply = self._run(Context(session=session, person=person, channel=inbound.channel,
                                          inbound=inbound, router=self.router,
                                          points_per_hour=self.points_per_hour, settings=self.settings), match)
                self._check(guard, session, person)  # what it read may have been claimed meanwhile
            except UserError as refusal:
                reply = refusal.reply
            stale = person.needs_hearing(inbound.channel, now, **_hearing(inbound))
        if stale:  # rarely: the window is kept to the hour
            self._note_heard(_hearing_of(person.id, inbound, now))
        return fit_reply(reply)

    def _note_heard(self, hearing: str) -> None:
        """At once where the runtime can; else, or when that fails, by the note_heard job."""
        if self.note_heard is not None:
            try:
                self.note_heard(hearing)
                return
            except Exception as error:  # the row is held by a long transaction, or the database away
                log.warning("noting hearing %s at once failed (%s); left to its job", hearing, error)
        self.after_commit([], [(NOTE_HEARD, hearing)])

    def _stored(self, key: str) -> ProcessedMessage | None:
        with self.db.sessions() as session:
            return session.scalar(_DELIVERY, {"key": key})

    def _handle_once(self, inbound: Inbound, guard: Guard | None = None
                     ) -> tuple[str | None, list[Notice], list[tuple[str, int]]]:
        try:
            with self.db.transaction() as session:
                record, person = self._delivery(session, inbound)
                ctx = Context(session=session, person=person, channel=inbound.channel, inbound=inbound,
                              router=self.router, points_per_hour=self.points_per_hour, settings=self.settings)
                self._check(guard, session, person)
                reply = self._route(ctx, inbound)
                self._check(guard, session, person)  # what the handler did may be out of bounds
                record.reply = reply = fit_reply(reply)
                return reply, ctx.notices, ctx.jobs
        except UserError as refusal:
            return self._refuse(inbound, fit_reply(refusal.reply)), [], []

    def _refuse(self, inbound: Inbound, reply: str | None) -> str | None:
        """A refused command changes nothing but the delivery's record (and who wrote): its whole
        transaction was rolled back, so they are recorded in one of their own. Refusals are rare;
        a savepoint around every handler cost each message more than this costs the few."""
        with self.db.transaction() as session:
            record, _person = self._delivery(session, inbound)
            record.reply = reply
        return reply

    def _delivery(self, session: Session, inbound: Inbound) -> tuple[ProcessedMessage, Person]:
        """The delivery's record and its sender (heard from), written in one flush before the
        command runs, with no look for the delivery beforehand: a retry of a delivery already
        answered fails on the record's unique key at once, and a concurrent retry waits on it
        (or on the sender's row) until this one commits, then fails; either rolls back having
        done nothing and answers with the stored reply (handle). Recorded after the command,
        both would run it and use up wish numbers."""
        person = self._sender(session, inbound)
        record = ProcessedMessage(key=inbound.message_key, sender=inbound.sender, text=inbound.text)
        session.add(record)
        session.flush()
        return record, person

    @staticmethod
    def _check(guard: Guard | None, session: Session, person: PersonFacts) -> None:
        if guard is None:
            return
        if not isinstance(person, Person):  # a guard reads the person's ties: the mapped row
            person = session.get(Person, person.id)
        if (refusal := guard(session, person)) is not None:
            raise NotAllowed(refusal)

    def _sender(self, session: Session, inbound: Inbound) -> Person:
        """The person behind this channel's identity (with their place): a WeCom UserID never
        finds an Official Account user, nor the other way round."""
        person = session.scalar(_SENDER_AND_PLACE[_identity(inbound).key], {"identity": inbound.sender})
        if person is None:
            person = Person(name=NEW_PERSON_NAME, roles="resident")
            setattr(person, _identity(inbound).key, inbound.sender)
            session.add(person)
        person.heard_from(inbound.channel, utcnow(), **_hearing(inbound))
        return person

    def _route(self, ctx: Context, inbound: Inbound) -> str | None:
        if inbound.kind == "event":
            if inbound.event in ("subscribe", "scan"):  # a printed QR code's scene places them
                return arrive(ctx, inbound.event_key, subscribed=inbound.event == "subscribe")
            if inbound.event == "click" and inbound.event_key:
                return self._command(ctx, normalise(inbound.event_key))  # a menu button's key is its command
            return None
        if inbound.kind == "image":
            return attach_photo(ctx, inbound.media_id)
        text = normalise(inbound.text)
        if not text:
            if inbound.kind == "voice":
                return "没听清楚，请再说一遍，或者直接打字。"
            return hint(ctx.person)
        return self._command(ctx, text)

    def _command(self, ctx: Context, text: str) -> str:
        said = without_trailing_punctuation(text)
        match = self.router.match(said) or self.router.match_homophone(said)
        if match is None:
            return self.understand(ctx, text) or hint(ctx.person)
        return self._run(ctx, match)

    @staticmethod
    def _run(ctx: Context, match: Match) -> str:
        return run_match(ctx, match)  # the role check every channel shares (chat, phone page)


def _identity(inbound: Inbound):
    """The column that holds the sender's identity on this channel."""
    return Person.wecom_userid if inbound.channel == "wecom" else Person.openid


def _hearing_of(person_id: int, inbound: Inbound, now) -> str:
    hearing = _hearing(inbound)
    return f"{person_id}:{inbound.channel}:{int(hearing['message'])}:{hearing['event']}:{int(now.timestamp())}"


def _hearing(inbound: Inbound) -> dict:
    return {"message": inbound.kind != "event", "event": inbound.event.lower()}
