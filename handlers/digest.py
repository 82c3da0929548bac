"""The daily digest to each grid's grid workers, reminders to claimers, and the release of
claims left idle. Each function opens its own transaction and returns the new outbox rows,
committed, for the runtime to hand to the jobs."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.db import Database
from bot.settings import Settings
from models import Claim, Grid, Notice, Wish, utcnow
from models.wish import ACTIVE, PENDING_REVIEW, PUBLISHED

from . import notices
from .context import Context

BRIEF = 20  # characters of a wish's content in a digest line


def send_digests(db: Database, settings: Settings, now: datetime | None = None) -> list[Notice]:
    """One digest per grid with something to report, to its grid workers' group."""
    now = now or utcnow()
    with db.transaction() as session:
        rows = [row for grid in session.scalars(select(Grid).order_by(Grid.id))
                if (row := grid_digest(session, grid, settings, now)) is not None]
        session.add_all(rows)
        session.flush()
    return rows


def grid_digest(session: Session, grid: Grid, settings: Settings, now: datetime) -> Notice | None:
    in_grid = select(Wish).where(Wish.grid_id == grid.id).order_by(Wish.id)
    new = session.scalars(in_grid.where(  # those still waiting for review are listed as such
        Wish.created_at >= now - timedelta(days=1), Wish.status != PENDING_REVIEW)).all()
    waiting = session.scalars(in_grid.where(Wish.status == PENDING_REVIEW)).all()
    unclaimed = session.scalars(in_grid.where(
        Wish.status == PUBLISHED, Wish.published_at <= now - timedelta(days=settings.unclaimed_days))).all()
    open_claims = session.scalars(
        select(Claim).join(Wish).where(Wish.grid_id == grid.id, Claim.status == ACTIVE,
                                       Claim.created_at <= now - timedelta(days=settings.open_claim_days))
        .order_by(Claim.id)).all()
    sections = [
        ("新心愿", [_line(w) for w in new]),
        ("待审核", [_line(w) for w in waiting]),
        (f"超过{settings.unclaimed_days}天没人认领", [_line(w) for w in unclaimed]),
        (f"认领超过{settings.open_claim_days}天未完成", [f"{_line(c.wish)}（{c.member.name}）" for c in open_claims]),
    ]
    if not any(lines for _, lines in sections):
        return None
    text = "\n".join([f"【每日汇总】{grid.label}"] + [
        f"{title} {len(lines)} 个：" + "；".join(lines) for title, lines in sections if lines])
    return notices.to_robot(grid.robot_url, f"gridworkers:{grid.label}", event="digest", audience="gridworkers",
                            text=text)


def _line(wish: Wish) -> str:
    content = notices.scrub(" ".join(wish.content.split()), wish.requester)
    return f"{wish.ref} {content if len(content) <= BRIEF else content[:BRIEF - 1] + '…'}"


def send_reminders(db: Database, settings: Settings, now: datetime | None = None) -> list[Notice]:
    """Release claims idle for `release_days` (the wish is open again), then remind, once,
    the claimers of claims open for `remind_days`."""
    now = now or utcnow()
    with db.transaction() as session:
        ctx = Context.system(session)
        active = select(Claim).where(Claim.status == ACTIVE).order_by(Claim.id)
        idle = active.where(Claim.created_at <= now - timedelta(days=settings.release_days))
        for claim in session.scalars(idle).all():
            _release(ctx, claim, settings.release_days)
        due = active.where(Claim.reminded_at.is_(None),
                           Claim.created_at <= now - timedelta(days=settings.remind_days))
        for claim in session.scalars(due).all():
            claim.reminded_at = now
            ctx.notify(notices.claim_reminder(session, claim, settings.remind_days))
        session.flush()
    return ctx.notices


def _release(ctx: Context, claim: Claim, days: int) -> None:
    # Lock the wish first, as claiming and releasing in chat do, then look at the claim again.
    wish = ctx.session.scalar(select(Wish).where(Wish.id == claim.wish_id).with_for_update())
    ctx.session.refresh(claim)
    if claim.status != ACTIVE:
        return
    ctx.change(wish, "release", lambda: wish.release(claim.member),
               lambda session, wish, claim: notices.claim_expired(session, wish, claim, days),
               f"认领{days}天未完成，自动放弃")
