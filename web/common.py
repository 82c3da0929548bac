"""What every dashboard view shares: one database session per request, acting as the
login's Person, and handing committed notices to the jobs."""
from __future__ import annotations

import re
from datetime import datetime

from flask import Flask, current_app, flash, g, request
from sqlalchemy.orm import Session
from werkzeug.routing import BaseConverter, ValidationError

from handlers.context import Context
from models import UserError, local_time

MAX_ID = 2**31 - 1  # PostgreSQL's integer; larger numbers make the database raise, not miss
_UNCARRIED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ID = re.compile(r"[0-9]{1,10}")  # ASCII digits: str.isdigit() passes "²", which int() refuses


def parse_id(value) -> int | None:
    """A row id from the request (path, query, form or JSON), or None when it cannot be one."""
    if isinstance(value, bool) or not _ID.fullmatch(str(value)):
        return None
    number = int(value)
    return number if 1 <= number <= MAX_ID else None


class IdConverter(BaseConverter):
    """`<id:number>` in a route: anything parse_id refuses is a 404, not a database error."""
    regex = _ID.pattern

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValidationError()
        return number


def clean_text(value: str | None) -> str:
    """Free text from the request, stripped of what neither PostgreSQL (NUL) nor the XML of a
    chat message (other control characters, lone surrogates) can carry."""
    return _UNCARRIED.sub("", value or "").strip()


def paginate(total: int, size: int, unbounded: bool = False) -> tuple[int, int]:
    """(page, pages): the request's ?page=, kept within 1..pages. When `total` is only a lower
    bound (`unbounded`), any page is allowed and there is always one more."""
    pages = max((total + size - 1) // size, 1)
    page = parse_id(request.args.get("page")) or 1
    if unbounded:
        return page, max(pages, page + 1)
    return min(page, pages), pages


def takes_upload(limit: int):
    """Marks a view that takes a file of up to `limit` bytes: the app-wide body limit is sized
    for webhook messages. `allow_upload` applies it before anything reads the form."""
    def mark(view):
        view.upload_limit = limit  # functools.wraps carries it through login_required
        return view
    return mark


def allow_upload() -> None:
    """The first hook of every request (Flask-WTF reads the form in a later one): the body limit
    of a view marked with `takes_upload`, the app's own for every other."""
    limit = getattr(current_app.view_functions.get(request.endpoint), "upload_limit", None)
    if limit is not None:
        request.max_content_length = limit


def largest_body(app: Flask) -> int:
    """The most any request may send (the server refuses more before reading it)."""
    return max([app.config["MAX_CONTENT_LENGTH"],
                *(getattr(view, "upload_limit", 0) for view in app.view_functions.values())])


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


def format_time(moment: datetime | None, pattern: str = "%Y-%m-%d %H:%M") -> str:
    moment = local_time(moment)
    return moment.strftime(pattern) if moment else ""


def act(action, *args, success: str) -> bool:
    """Run a handler as the login's Person (with the login's scope) on the web channel, commit,
    then enqueue its notices — the order composition/conversation.py keeps. A UserError is
    flashed and rolled back."""
    session = db()
    ctx = Context(session=session, person=g.staff.person, channel="web", scope=g.scope)
    try:
        action(ctx, *args)
        session.commit()
    except UserError as refusal:
        session.rollback()
        flash(refusal.reply, "error")
        return False
    runtime().after_commit(ctx.notices, ctx.jobs)
    flash(success, "ok")
    return True

