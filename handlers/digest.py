"""The daily digest to each grid's grid workers, reminders to claimers, and the release of
claims left idle. Each function opens its own transaction and returns the new outbox rows,
committed, for the runtime to hand to the jobs."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.db import Database
from bot.settings import Settings
from models import Claim, Grid, Notice, Wish, utcnow
from models.privacy import brief
from models.wish import ACTIVE, PENDING_REVIEW, PUBLISHED, REJECTED, WITHDRAWN, status_literal

from . import notices
from .context import Context

BRIEF = 20  # characters of a wish's content in a digest line
_NOT_NEW = (PENDING_REVIEW, REJECTED, WITHDRAWN)
DIGEST_LIST = 10  # wishes listed per section and grid; the count says how many there are


def send_digests(db: Database, settings: Settings, now: datetime | None = None) -> list[Notice]:
    """One digest per grid with something to report, to its grid workers' group. Each section is
    one query over what is due in every grid at once, listing at most DIGEST_LIST per grid."""
    now = now or utcnow()
    with db.transaction() as session:
        due_wish = select(Wish.id, Wish.grid_id)
        sections = [
            # Those waiting for review are listed as such; turned down is no news.
            ("新心愿", _due(session, due_wish.where(Wish.created_at >= now - timedelta(days=1),
                                                   Wish.status.not_in(_NOT_NEW)))),
            ("待审核", _due(session, due_wish.where(Wish.status == PENDING_REVIEW))),
            (f"超过{settings.unclaimed_days}天没人认领", _due(session, due_wish.where(
                Wish.status == status_literal(PUBLISHED),
                Wish.published_at <= now - timedelta(days=settings.unclaimed_days)))),
        ]
        wish_lines = _wish_lines(session, {i for _, due in sections for _, ids in due.values() for i in ids})
        sections = [(title, {grid: (n, [wish_lines[i] for i in ids]) for grid, (n, ids) in due.items()})
                    for title, due in sections]
        open_claims = _due(session, select(Claim.id, Wish.grid_id).join(Wish, Claim.wish_id == Wish.id)
                           .where(Claim.status == status_literal(ACTIVE),
                                  Claim.created_at <= now - timedelta(days=settings.open_claim_days)))
        claim_lines = _claim_lines(session, {i for _, ids in open_claims.values() for i in ids})
        sections.append((f"认领超过{settings.open_claim_days}天未完成",
                         {grid: (n, [claim_lines[i] for i in ids]) for grid, (n, ids) in open_claims.items()}))
        grid_ids = sorted({grid for _, by_grid in sections for grid in by_grid})
        grids = session.scalars(select(Grid).options(selectinload(Grid.community))
                                .where(Grid.id.in_(grid_ids)).order_by(Grid.id)).all()
        rows = [_digest(grid, [(title, by_grid.get(grid.id)) for title, by_grid in sections]) for grid in grids]
        session.add_all(rows)
        session.flush()
    return rows


def _due(session: Session, query) -> dict[int, tuple[int, list[int]]]:
    """grid id -> (how many rows, the first DIGEST_LIST ids, oldest first) for a query of (id, grid_id)."""
    row_id, grid_id = query.selected_columns
    ranked = query.add_columns(
        func.row_number().over(partition_by=grid_id, order_by=row_id).label("rank"),
        func.count().over(partition_by=grid_id).label("total"),
    ).where(grid_id.is_not(None)).subquery()
    due: dict[int, tuple[int, list[int]]] = {}
    for grid, row, total in session.execute(
            select(ranked.c[1], ranked.c[0], ranked.c.total).where(ranked.c.rank <= DIGEST_LIST)
            .order_by(ranked.c[1], ranked.c.rank)):
        due.setdefault(grid, (total, []))[1].append(row)
    return due


def _wish_lines(session: Session, ids: set[int]) -> dict[int, str]:
    wishes = session.scalars(select(Wish).options(selectinload(Wish.requester)).where(Wish.id.in_(ids)))
    return {wish.id: _line(wish) for wish in wishes}


def _claim_lines(session: Session, ids: set[int]) -> dict[int, str]:
    claims = session.scalars(select(Claim).where(Claim.id.in_(ids)).options(
        selectinload(Claim.member), selectinload(Claim.wish).selectinload(Wish.requester)))
    return {claim.id: f"{_line(claim.wish)}（{claim.member.name}）" for claim in claims}


def _digest(grid: Grid, sections: list[tuple[str, tuple[int, list[str]] | None]]) -> Notice:
    parts = [f"【每日汇总】{grid.label}"]
    for title, section in sections:
        if section:
            total, lines = section
            more = f"\n……（共{total}个，仅列前{len(lines)}个）" if total > len(lines) else ""
            parts.append(f"{title} {total} 个：" + "".join(f"\n· {line}" for line in lines) + more)
    return notices.to_robot(grid.robot_url, f"gridworkers:{grid.label}", event="digest", audience="gridworkers",
                            text="\n".join(parts))


def _line(wish: Wish) -> str:
    return f"{wish.ref} {brief(wish.content, BRIEF, wish.requester)}"


def send_reminders(db: Database, settings: Settings, now: datetime | None = None) -> list[Notice]:
    """Release claims idle for `release_days` (the wish is open again), then remind, once,
    the claimers of claims open for `remind_days`."""
    now = now or utcnow()
    with db.transaction() as session:
        ctx = Context.system(session)
        active = select(Claim).where(Claim.status == status_literal(ACTIVE)).order_by(Claim.id)
        idle = active.where(Claim.created_at <= now - timedelta(days=settings.release_days))
        by_wish: dict[int, list[Claim]] = {}
        for claim in session.scalars(idle).all():
            by_wish.setdefault(claim.wish_id, []).append(claim)
        for wish_id, claims in by_wish.items():
            _release(ctx, wish_id, claims, settings.release_days)
        due = active.where(Claim.reminded_at.is_(None),
                           Claim.created_at <= now - timedelta(days=settings.remind_days))
        for claim in session.scalars(due).all():
            claim.reminded_at = now
            ctx.notify(notices.claim_reminder(session, claim, settings.remind_days))
        session.flush()
    return ctx.notices


def _release(ctx: Context, wish_id: int, claims: list[Claim], days: int) -> None:
    """Release a wish's idle claims together: each on the timeline, then one announcement (a
    3-slot wish is one group push and one word to the resident, not three)."""
    # Lock the wish first, as claiming and releasing in chat do, then look at the claims again.
    wish = ctx.session.scalar(select(Wish).where(Wish.id == wish_id).with_for_update())
    released = []
    for claim in claims:
        ctx.session.refresh(claim)
        if claim.status != ACTIVE:
            continue
        ctx.change(wish, "release", lambda member=claim.member: wish.release(member), None,
                   f"认领{days}天未完成，自动放弃")
        released.append(claim)
    if released:
        ctx.notify(notices.claims_expired(ctx.session, wish, released, days))
