"""Deliver one outbox row: reload it, push it, record the outcome.

Raises on failure so the job runner (RQ, or the in-process runner) retries it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from models import Notice, utcnow
from models.messaging import NOTICE_FAILED, NOTICE_PENDING, NOTICE_SENT

from .db import Database
from .outbound.errors import DeliveryError
from .outbound.official import OfficialAccountAPI
from .outbound.robot import TEXT_LIMIT, GroupRobot, split_message

log = logging.getLogger("wishbot.push")


@dataclass
class Outbound:
    robot: GroupRobot
    official: OfficialAccountAPI


def deliver(db: Database, outbound: Outbound, notice_id: int) -> None:
    with db.sessions() as session:
        notice = session.get(Notice, notice_id)
        if notice is None or notice.status == NOTICE_SENT:
            return
        channel, target, text = notice.channel, notice.target, notice.text
    try:
        _push(outbound, channel, target, text)
    except Exception as error:
        retryable = getattr(error, "retryable", True)
        _record(db, notice_id, NOTICE_PENDING if retryable else NOTICE_FAILED, str(error)[:500])
        raise
    _record(db, notice_id, NOTICE_SENT, None)


def _push(outbound: Outbound, channel: str, target: str, text: str) -> None:
    if channel == "robot":
        for chunk in split_message(text, TEXT_LIMIT):
            outbound.robot.send_text(target, chunk)
    elif channel == "official":
        outbound.official.send_text(target, text)
    elif channel == "log":
        log.info("push to %s:\n%s", target, text)
    else:
        raise DeliveryError(f"unknown channel {channel}", code=None, retryable=False)


def _record(db: Database, notice_id: int, status: str, error: str | None) -> None:
    with db.transaction() as session:
        notice = session.get(Notice, notice_id)
        notice.attempts += 1
        notice.status = status
        notice.last_error = error
        if status == NOTICE_SENT:
            notice.sent_at = utcnow()
