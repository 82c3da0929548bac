"""The ledger (台账): wishes filtered and paginated, one wish's page, and staff actions on it."""
from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import Boolean, ColumnElement, Select, func, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import selectinload

from bot.hours import parse_hours
from handlers.categories import CATEGORIES
from handlers.dispatch import assign_wish, members_for
from handlers.review import publish_wish, reject_wish
from handlers.stand_in import cancel_claim, complete_for
from handlers.wishes import confirm_for, parse_feedback
from models import Claim, Person, Proof, Unit, Wish, WishEvent, local_zone
from models.wish import RELEASED, STATUS_LABELS

from .auth import login_required
from .common import act, clean_text, db, paginate, parse_id

ledger = Blueprint("ledger", __name__, url_prefix="/admin/wishes")
PAGE_SIZE = 20
COUNT_CAP = 10_000


def _day(value: str | None) -> date | None:
    """A day to filter by; the calendar's first and last days are dropped, since their bounds
    (Beijing midnight in UTC, the day after `end`) fall outside what datetime can hold."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    return day if day and date.min < day < date.max else None


def _midnight(day: date) -> datetime:
    """Midnight in Beijing, in UTC: SQLite compares the stored UTC text and ignores offsets."""
    return datetime.combine(day, time(), local_zone()).astimezone(timezone.utc)


class InIds(ColumnElement):
    """`column IN (subquery)`; on PostgreSQL written `column = ANY(ARRAY(subquery))`, which the
    planner can combine with a trigram index under an OR (an IN subquery there becomes a filter
    applied to every row of the ledger: 2.3 s at a million wishes, against 1 ms)."""

    type = Boolean()
    inherit_cache = False

    def __init__(self, column, subquery: Select):
        self.column, self.subquery = column, subquery


@compiles(InIds)
def _in_ids(element: InIds, compiler, **kw) -> str:
    return compiler.process(element.column.in_(element.subquery), **kw)


@compiles(InIds, "postgresql")
def _in_ids_postgresql(element: InIds, compiler, **kw) -> str:
    column = compiler.process(element.column, **kw)
    return f"{column} = ANY(ARRAY{compiler.process(element.subquery.scalar_subquery(), **kw)})"


@dataclass
class LedgerFilter:
    community: int | None = None
    grid: int | None = None
    status: str | None = None
    category: str | None = None
    unit: int | None = None
    start: date | None = None
    end: date | None = None
    q: str | None = None

    @classmethod
    def from_args(cls, args) -> "LedgerFilter":
        status = args.get("status")
        return cls(
            community=parse_id(args.get("community")), grid=parse_id(args.get("grid")),
            status=status if status in STATUS_LABELS else None,
            category=clean_text(args.get("category")) or None, unit=parse_id(args.get("unit")),
            start=_day(args.get("start")), end=_day(args.get("end")), q=clean_text(args.get("q")) or None,
        )

    def as_args(self) -> dict[str, str]:
        return {f.name: str(v) for f in fields(self) if (v := getattr(self, f.name)) is not None}

    def apply(self, query: Select) -> Select:
        if self.community:
            query = query.where(Wish.community_id == self.community)
        if self.grid:
            query = query.where(Wish.grid_id == self.grid)
        if self.status:
            query = query.where(Wish.status == self.status)
        if self.category:
            query = query.where(Wish.category == self.category)
        if self.unit:
            claimed = select(Claim.wish_id).where(Claim.unit_id == self.unit, Claim.status != RELEASED)
            query = query.where(Wish.id.in_(claimed))
        if self.start:
            query = query.where(Wish.created_at >= _midnight(self.start))
        if self.end:
            query = query.where(Wish.created_at < _midnight(self.end + timedelta(days=1)))
        if self.q:
            requesters = select(Person.id).where(Person.name.contains(self.q, autoescape=True))
            match = or_(Wish.content.contains(self.q, autoescape=True), InIds(Wish.requester_id, requesters))
            if number := parse_id(self.q.lstrip("#")):
                match = or_(match, Wish.id == number)
            query = query.where(match)
        return query


def wishes_query(flt: LedgerFilter) -> Select:
    """The wishes this login may see, narrowed by the filter, newest first."""
    query = select(Wish).options(
        selectinload(Wish.requester), selectinload(Wish.community), selectinload(Wish.grid),
        selectinload(Wish.claims).selectinload(Claim.member).selectinload(Person.unit),
    )
    return flt.apply(g.scope.wishes(query)).order_by(Wish.id.desc())


def units() -> list[Unit]:
    return list(db().scalars(select(Unit).order_by(Unit.id)))


@ledger.get("/")
@login_required
def index():
    flt = LedgerFilter.from_args(request.args)
    query = wishes_query(flt)
    # Counting every row of a city's ledger on every page costs more than the page: count up to
    # COUNT_CAP and say "more than" beyond it.
    total = db().scalar(select(func.count()).select_from(query.order_by(None).limit(COUNT_CAP + 1).subquery()))
    capped = total > COUNT_CAP
    page, pages = paginate(COUNT_CAP if capped else total, PAGE_SIZE, unbounded=capped)
    wishes = db().scalars(query.limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template(
        "admin/ledger.html", wishes=wishes, flt=flt, total=min(total, COUNT_CAP), capped=capped, page=page,
        pages=pages,
        communities=g.scope.communities(db()), grids=g.scope.grids(db()), units=units(),
        categories=CATEGORIES, statuses=STATUS_LABELS,
    )


def wish_in_scope(number: int) -> Wish:
    """404 rather than 403 outside the login's scope: not even the number's existence leaks."""
    wish = db().get(Wish, number)
    if wish is None or not g.scope.covers(wish):
        abort(404)
    return wish


def assignable_members(wish: Wish) -> list[Person]:
    taken = {c.member_id for c in wish.active_claims}
    return [p for p in db().scalars(members_for(wish)) if p.id not in taken]


@ledger.get("/<id:number>")
@login_required
def wish_page(number: int):
    wish = wish_in_scope(number)
    events = db().scalars(select(WishEvent).where(WishEvent.wish_id == wish.id).order_by(WishEvent.id)).all()
    proofs = db().scalars(select(Proof).where(Proof.claim_id.in_([c.id for c in wish.claims]))
                          .order_by(Proof.id)).all()
    return render_template(
        "admin/wish.html", wish=wish, events=events, proofs=proofs,
        members=assignable_members(wish),
    )


@ledger.get("/proofs/<id:proof_id>")
@login_required
def proof_image(proof_id: int):
    proof = db().get(Proof, proof_id)
    if proof is None or proof.image is None:
        abort(404)
    claim = db().get(Claim, proof.claim_id)
    wish_in_scope(claim.wish_id)
    # Only ever an image type: the stored type came from outside and must not turn into HTML.
    kind = proof.content_type if (proof.content_type or "").startswith("image/") else "image/jpeg"
    return proof.image, 200, {"Content-Type": kind, "X-Content-Type-Options": "nosniff",
                              "Cache-Control": "private, max-age=3600"}


# --- actions ------------------------------------------------------------------------------


def _back(wish: Wish):
    return redirect(url_for("ledger.wish_page", number=wish.id))


def _locked(number: int) -> Wish:
    wish = wish_in_scope(number)
    db().refresh(wish, with_for_update=True)
    return wish


@ledger.post("/<id:number>/publish")
@login_required
def publish(number: int):
    wish = _locked(number)
    slots = request.form.get("slots", 1, type=int) or 1
    act(publish_wish, wish, slots, success=f"心愿 {wish.ref} 已发布到志愿者群。")
    return _back(wish)


@ledger.post("/<id:number>/reject")
@login_required
def reject(number: int):
    wish = _locked(number)
    act(reject_wish, wish, clean_text(request.form.get("reason")), success=f"心愿 {wish.ref} 已驳回，已告知许愿人。")
    return _back(wish)


@ledger.post("/<id:number>/assign")
@login_required
def assign(number: int):
    wish = _locked(number)
    member_id = parse_id(request.form.get("member"))
    member = db().get(Person, member_id) if member_id else None
    if member is None or member not in assignable_members(wish):
        abort(400, description="请选择本社区的志愿者。")
    act(assign_wish, wish, member, success=f"心愿 {wish.ref} 已派给 {member.name}。")
    return _back(wish)


@ledger.post("/<id:number>/confirm")
@login_required
def confirm(number: int):
    wish = _locked(number)
    feedback, rating = parse_feedback(clean_text(request.form.get("feedback")))
    rating = request.form.get("rating", type=int) or rating
    act(confirm_for, wish, feedback, rating,
        success=f"已代 {wish.requester.name} 确认心愿 {wish.ref}。")
    return _back(wish)


def _claim_of(wish: Wish, claim_id: int) -> Claim:
    claim = next((c for c in wish.claims if c.id == claim_id), None)
    if claim is None:
        abort(404)
    return claim


@ledger.post("/<id:number>/claims/<id:claim_id>/complete")
@login_required
def complete_claim_for(number: int, claim_id: int):
    """代完成 on the dashboard: a member reported done by phone, or has no WeChat."""
    wish = _locked(number)
    claim = _claim_of(wish, claim_id)
    written = clean_text(request.form.get("hours"))
    hours = parse_hours(written) if written else None
    if written and hours is None:
        flash("工时请写小时数，比如 2 或 1.5。", "error")
    else:
        act(complete_for, wish, claim, clean_text(request.form.get("note")) or None, hours,
            success=f"已替 {claim.member.name} 报告心愿 {wish.ref} 完成。")
    return _back(wish)


@ledger.post("/<id:number>/claims/<id:claim_id>/cancel")
@login_required
def cancel_claim_of(number: int, claim_id: int):
    """代放弃 on the dashboard: the member cannot do it; the slot opens again."""
    wish = _locked(number)
    claim = _claim_of(wish, claim_id)
    act(cancel_claim, wish, claim, clean_text(request.form.get("reason")) or None,
        success=f"已取消 {claim.member.name} 的认领，心愿 {wish.ref} 重新开放认领。")
    return _back(wish)
