"""`统计`: this month's numbers for the grid worker's grid (an admin sees every community)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy.orm import Session

from bot import figures
from bot.router import CommandGroup
from models import local_time, utcnow
from models.scope import Scope
from models.wish import STAGES

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


def wish_stats(session: Session, scope: str, narrow: figures.Narrow, since: datetime) -> Stats:
    """The stages counted and the most claiming units since `since`, by the figures page's queries."""
    period = figures.Period(start=since)
    totals = figures.stage_totals(session, narrow, period)
    return Stats(scope=scope, since=since, **{key: totals[key] for key, _heading, _timestamp in STAGES},
                 top_units=figures.top_claiming_units(session, narrow, period, TOP_UNITS))


def monthly_stats(session: Session, scope: Scope, now: datetime | None = None) -> Stats:
    """This month's numbers of the scope's area."""
    return wish_stats(session, scope.area_name(session), scope.wishes, month_start(now))


@group.command("统计", roles={"gridworker", "admin"}, usage="统计 —— 本月本网格的心愿数字")
def show_stats(ctx: Context, args: str) -> str:
    stats = monthly_stats(ctx.session, ctx.scope)
    month = local_time(stats.since).month
    lines = [
        f"{stats.scope} {month}月统计：",
        f"征集 {stats.collected} 个，发布 {stats.published} 个，认领 {stats.claimed} 个，",
        f"完成 {stats.completed} 个，确认圆梦 {stats.confirmed} 个。",
    ]
    if stats.top_units:
        lines.append("认领最多的共建单位：" + "、".join(f"{name}（{n}次）" for name, n in stats.top_units))
    return "\n".join(lines)
