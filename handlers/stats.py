"""`统计`: this month's numbers for the grid worker's grid (an admin sees every community)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from bot.router import CommandGroup
from models import Claim, Person, Unit, Wish, local_time, utcnow
from models.wish import RELEASED, STAGES

from .context import Context

group = CommandGroup()
TOP_UNITS = 3


@dataclass
class Stats:
    scope: str
    since: datetime
    collected: int = 0
    published: int = 0
    claimed: int = 0
    completed: int = 0
    confirmed: int = 0
    top_units: list[tuple[str, int]] = field(default_factory=list)


def month_start(now: datetime | None = None) -> datetime:
    local = local_time(now or utcnow())  # a month starts at local midnight
    return local.replace(day=1, hour=0, minute=0, second=0, microsecond=0).astimezone(timezone.utc)


def scope_of(person: Person) -> tuple[str, ColumnElement[bool]]:
    """What `person` is responsible for, as a label and a condition on Wish."""
    if person.has_role("admin"):
        return "全部社区", true()
    if person.grid is not None:
        return person.grid.label, Wish.grid_id == person.grid_id
    if person.community is not None:
        return person.community.name, Wish.community_id == person.community_id
    return "（未登记网格）", Wish.id.is_(None)


def wish_stats(session: Session, scope: str, condition: ColumnElement[bool], since: datetime) -> Stats:
    def count(column) -> int:
        return session.scalar(select(func.count(Wish.id)).where(condition, column >= since)) or 0

    stages = {key: count(getattr(Wish, timestamp)) for key, _heading, timestamp in STAGES}
    claims = (select(Claim).join(Wish, Claim.wish_id == Wish.id)
              .where(condition, Claim.created_at >= since, Claim.status != RELEASED).subquery())
    units = session.execute(
        select(Unit.name, func.count(claims.c.id).label("n"))
        .join(claims, claims.c.unit_id == Unit.id)
        .group_by(Unit.name).order_by(func.count(claims.c.id).desc(), Unit.name).limit(TOP_UNITS)
    ).all()
    return Stats(scope=scope, since=since, **stages, top_units=[(name, n) for name, n in units])


def monthly_stats(session: Session, person: Person, now: datetime | None = None) -> Stats:
    scope, condition = scope_of(person)
    return wish_stats(session, scope, condition, month_start(now))


@group.command("统计", roles={"gridworker", "admin"}, usage="统计 —— 本月本网格的心愿数字")
def show_stats(ctx: Context, args: str) -> str:
    stats = monthly_stats(ctx.session, ctx.person)
    month = local_time(stats.since).month
    lines = [
        f"{stats.scope} {month}月统计：",
        f"征集 {stats.collected} 个，发布 {stats.published} 个，认领 {stats.claimed} 个，",
        f"完成 {stats.completed} 个，确认圆梦 {stats.confirmed} 个。",
    ]
    if stats.top_units:
        lines.append("认领最多的共建单位：" + "、".join(f"{name}（{n}次）" for name, n in stats.top_units))
    return "\n".join(lines)
