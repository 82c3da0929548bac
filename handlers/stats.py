"""`统计`: this month's numbers for the grid worker's grid (an admin sees every community)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from bot import figures
from bot.router import CommandGroup
from models import Person, Wish, local_time, utcnow

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


def scope_of(person: Person) -> tuple[str, figures.Narrow]:
    """What `person` is responsible for, as a label and a narrowing of queries on Wish."""
    if person.has_role("admin"):
        return "全部社区", figures.everything
    if person.grid is not None:
        return person.grid.label, figures.where(Wish.grid_id == person.grid_id)
    if person.community is not None:
        return person.community.name, figures.where(Wish.community_id == person.community_id)
    return "（未登记网格）", figures.where(Wish.id.is_(None))


def wish_stats(session: Session, scope: str, narrow: figures.Narrow, since: datetime) -> Stats:
    period = figures.Period(start=since)
    totals = figures.stage_totals(session, narrow, period)
    return Stats(scope=scope, since=since, collected=totals["collected"], published=totals["published"],
                 claimed=figures.claimed_wishes(session, narrow, period), completed=totals["completed"],
                 confirmed=totals["confirmed"],
                 top_units=figures.top_claiming_units(session, narrow, period, TOP_UNITS))


def monthly_stats(session: Session, person: Person, now: datetime | None = None) -> Stats:
    scope, narrow = scope_of(person)
    return wish_stats(session, scope, narrow, month_start(now))


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
