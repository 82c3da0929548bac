"""What every dashboard view shares: one database session per request, acting as the
login's Person, and handing committed notices to the jobs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import current_app, flash, g
from sqlalchemy.orm import Session

from handlers.context import Context
from models import UserError

CHINA = timezone(timedelta(hours=8))  # no DST in China: a fixed offset is exact


def runtime():
    return current_app.extensions["wishbot"]


def db() -> Session:
    """The request's session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = runtime().db.sessions()
    return g.db


def close_db(_error=None) -> None:
    session = g.pop("db", None)
    if session is not None:
        session.close()


def local(moment: datetime | None) -> datetime | None:
    """Beijing time; SQLite hands back naive datetimes, which are UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(CHINA)


def format_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    moment = local(moment)
    return moment.strftime(pattern) if moment else ""


def act(action, *args, success: str) -> bool:
    """Run a handler as the login's Person on the web channel, commit, then enqueue its
    notices — the order bot/conversation.py keeps. A UserError is flashed and rolled back."""
    session = db()
    ctx = Context(session=session, person=g.staff.person, channel="web")
    try:
        action(ctx, *args)
        session.commit()
    except UserError as refusal:
        session.rollback()
        flash(refusal.reply, "error")
        return False
    if ctx.notices:
        runtime().jobs.enqueue([n.id for n in ctx.notices])
    flash(success, "ok")
    return True

