"""Notices that failed for good (发送失败): listed with their error, within the login's scope,
and sent again from here (or with `wishbot notices retry`)."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for
from sqlalchemy import func, select

from bot.delivery import reopen_failed
from models import Notice, Person
from models.messaging import NOTICE_FAILED

from .auth import login_required
from .common import db, paginate, runtime

notices = Blueprint("notices", __name__, url_prefix="/admin/notices")
PAGE_SIZE = 50
AUDIENCES = {"group": "志愿者群", "gridworkers": "网格员群", "private": "私信"}


def _in_scope(query):
    """A notice about a wish goes with the wish; one about no wish (a registration, a pass-on)
    with the person it concerns; the rest (digests of no one's wish) only to admins."""
    query = g.scope.notices(query)
    if not g.scope.is_admin:
        query = query.where(Notice.wish_id.is_not(None) | Notice.person_id.in_(g.scope.people(select(Person.id))))
    return query


def _failed():
    return _in_scope(select(Notice).where(Notice.status == NOTICE_FAILED))


@notices.get("/failed")
@login_required
def failed():
    total = db().scalar(select(func.count()).select_from(_failed().subquery()))
    page, pages = paginate(total, PAGE_SIZE)
    rows = db().scalars(_failed().order_by(Notice.id.desc()).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template("admin/notices.html", notices=rows, total=total, page=page, pages=pages,
                           audiences=AUDIENCES)


def _retry(query) -> None:
    session = db()
    rows = reopen_failed(session, query)
    session.commit()
    runtime().after_commit(rows, [])
    flash(f"已重新发送 {len(rows)} 条。" if rows else "没有可以重新发送的通知。", "ok" if rows else "error")


@notices.post("/failed/retry")
@login_required
def retry_all():
    _retry(_in_scope(select(Notice)))
    return redirect(url_for("notices.failed"))


@notices.post("/<id:number>/retry")
@login_required
def retry_one(number: int):
    _retry(_in_scope(select(Notice).where(Notice.id == number)))
    return redirect(url_for("notices.failed"))
