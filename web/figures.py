"""Figures (统计): the five stages month by month, by area, partner unit, member and category,
and the median times to claim and to complete."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from flask import Blueprint, g, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from handlers.service_figures import service_figures
from handlers.service_records import number_text
from models import Claim, Grid, Person, Wish, local_time
from models.wish import COMPLETED, RELEASED, STAGES

from .auth import login_required
from .charts import grouped_bars, horizontal_bars
from .common import db, runtime

figures = Blueprint("figures", __name__, url_prefix="/admin/figures")

MONTHS_SHOWN = 12
HONOUR_ROLL = 20
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def month_of(moment: datetime | None) -> str | None:
    moment = local_time(moment)
    return moment.strftime("%Y-%m") if moment else None


def recent_months(now: datetime, count: int = MONTHS_SHOWN) -> list[str]:
    year, month = now.year, now.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def parse_month(value: str | None) -> str | None:
    """`2026-11`, or None for all months."""
    return value if value and _MONTH.match(value) else None


@dataclass
class AreaRow:
    level: str  # 街道, 社区, 网格
    name: str
    counts: Counter = field(default_factory=Counter)


@dataclass
class Figures:
    month: str | None
    months: list[str]
    monthly: dict[str, Counter]
    areas: list[AreaRow]
    units: list[tuple[str, int, int]]  # unit, claims, completed
    members: list[tuple[str, str, int]]  # name, unit, completed
    categories: list[tuple[str, int]]
    median_claim_hours: float | None
    median_complete_hours: float | None

    @property
    def totals(self) -> Counter:
        return sum(self.monthly.values(), Counter()) if self.month is None else self.monthly_for(self.month)

    def monthly_for(self, month: str) -> Counter:
        return self.monthly.get(month, Counter())


def _in(month: str | None, moment: datetime | None) -> bool:
    return moment is not None and (month is None or month_of(moment) == month)


def _hours(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return (local_time(end) - local_time(start)).total_seconds() / 3600


def compute(wishes: list[Wish], month: str | None, now: datetime) -> Figures:
    months = recent_months(now)
    monthly: dict[str, Counter] = defaultdict(Counter)
    areas: dict[tuple[str, str], AreaRow] = {}
    categories: Counter = Counter()
    unit_claims: Counter = Counter()
    unit_done: Counter = Counter()
    member_done: Counter = Counter()
    member_unit: dict[str, str] = {}
    to_claim, to_complete = [], []

    def area(level: str, name: str) -> AreaRow:
        return areas.setdefault((level, name), AreaRow(level, name))

    for wish in wishes:
        rows = [area("社区", wish.community.name)]
        if wish.community.street:
            rows.insert(0, area("街道", wish.community.street.name))
        if wish.grid:
            rows.append(area("网格", wish.grid.label))
        for key, _, attr in STAGES:
            moment = getattr(wish, attr)
            if moment is None:
                continue
            monthly[month_of(moment)][key] += 1
            if _in(month, moment):
                for row in rows:
                    row.counts[key] += 1
        if _in(month, wish.created_at):
            categories[wish.category or "未分类"] += 1
        if _in(month, wish.claimed_at) and (h := _hours(wish.published_at, wish.claimed_at)) is not None:
            to_claim.append(h)
        if _in(month, wish.completed_at) and (h := _hours(wish.claimed_at, wish.completed_at)) is not None:
            to_complete.append(h)
        for claim in wish.claims:
            unit = claim.member.unit.name if claim.member.unit else "个人"
            if claim.status != RELEASED and _in(month, claim.created_at):
                unit_claims[unit] += 1
            if claim.status == COMPLETED and _in(month, claim.ended_at):
                unit_done[unit] += 1
                member_done[claim.member.name] += 1
                member_unit[claim.member.name] = unit

    order = {"街道": 0, "社区": 1, "网格": 2}
    return Figures(
        month=month, months=months, monthly=dict(monthly),
        areas=sorted(areas.values(), key=lambda r: (order[r.level], r.name)),
        units=sorted(((u, unit_claims[u], unit_done[u]) for u in set(unit_claims) | set(unit_done)),
                     key=lambda r: (-r[2], -r[1], r[0])),
        members=[(name, member_unit[name], n) for name, n in member_done.most_common(HONOUR_ROLL)],
        categories=categories.most_common(),
        median_claim_hours=median(to_claim) if to_claim else None,
        median_complete_hours=median(to_complete) if to_complete else None,
    )


def scoped_wishes() -> list[Wish]:
    query = select(Wish).options(
        selectinload(Wish.community), selectinload(Wish.grid).selectinload(Grid.community),
        selectinload(Wish.claims).selectinload(Claim.member).selectinload(Person.unit),
    )
    return list(db().scalars(g.scope.wishes(query)))


def duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours < 24:
        return f"{hours:.1f}小时"
    return f"{hours / 24:.1f}天"


@figures.get("/")
@login_required
def index():
    now = local_time(datetime.now().astimezone())
    chosen = request.args.get("month", now.strftime("%Y-%m"))
    month = parse_month(chosen)
    result = compute(scoped_wishes(), month, now)
    monthly_chart = grouped_bars(
        [m[5:] + "月" for m in result.months],
        [(heading, [result.monthly_for(m)[key] for m in result.months]) for key, heading, _ in STAGES],
        title="近12个月各环节数量",
    )
    hours = service_figures(db(), g.scope.wishes, month, result.months, runtime().settings.points_per_hour)
    return render_template(
        "admin/figures.html", f=result, stages=STAGES, duration=duration, monthly_chart=monthly_chart,
        hours=hours, number=number_text,
        category_chart=horizontal_bars(result.categories, title="按类别"),
        unit_chart=horizontal_bars([(u, done) for u, _, done in result.units], title="共建单位完成数"),
    )
