"""Figures by SQL aggregation: the five stages counted by month, area, partner unit, member and
category, and the median times to claim and to complete. One module behind the dashboard's
figures page, the monthly report and 统计 in chat.

`narrow` is the caller's scope: a function that narrows a Select on Wish (the dashboard's
`Scope.wishes`, or a condition from chat). A `Period` is a local month (or any span) as UTC
bounds, so every count is a range over an indexed timestamp.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Float, Select, and_, cast, exists, func, or_, select, true
from sqlalchemy.orm import Session

from models import Claim, Community, Grid, Person, Street, Unit, Wish, local_time, local_zone
from models.wish import COMPLETED, RELEASED, STAGES

from .rollup import ALL_MONTHS, NO_UNIT, UNCATEGORISED, Rollup

MONTHS_SHOWN = 12
HONOUR_ROLL = 20
AREA_LEVELS = ("街道", "社区", "网格")
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")

Narrow = Callable[[Select], Select]


def everything(query: Select) -> Select:
    return query


# --- periods ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; None on a side means unbounded."""

    start: datetime | None = None
    end: datetime | None = None

    def holds(self, column):
        conditions = [column.is_not(None)]
        if self.start is not None:
            conditions.append(column >= self.start)
        if self.end is not None:
            conditions.append(column < self.end)
        return and_(*conditions)

    @property
    def bounded(self) -> bool:
        return self.start is not None or self.end is not None


ALL_TIME = Period()


def parse_month(value: str | None) -> str | None:
    """`2026-11`, or None for all months."""
    return value if value and _MONTH.match(value) else None


def _local_midnight(year: int, month: int) -> datetime:
    return datetime(year, month, 1, tzinfo=local_zone()).astimezone(timezone.utc)


def month_period(month: str | None) -> Period:
    """A local calendar month (`2026-11`) as UTC bounds; None is all time."""
    if month is None:
        return ALL_TIME
    year, number = int(month[:4]), int(month[5:])
    following = (year, number + 1) if number < 12 else (year + 1, 1)
    return Period(_local_midnight(year, number), _local_midnight(*following))


def months_period(months: list[str]) -> Period:
    """Consecutive local months, from the first's start to the last's end."""
    return Period(month_period(months[0]).start, month_period(months[-1]).end)


def recent_months(now: datetime, count: int = MONTHS_SHOWN) -> list[str]:
    year, month = now.year, now.month
    months = []
    for _ in range(count):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return months[::-1]


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def month_bucket(session: Session, column):
    """The local month a timestamp falls in: its first day on PostgreSQL (date_trunc is much
    cheaper per row than to_char), `YYYY-MM` text on SQLite; `month_key` reads either."""
    if _dialect(session) == "postgresql":
        return func.date_trunc("month", func.timezone(str(local_zone()), column))
    # SQLite keeps UTC text; China has had no daylight saving since 1991.
    offset = int(datetime(2000, 1, 1, tzinfo=local_zone()).utcoffset().total_seconds() // 3600)
    return func.strftime("%Y-%m", column, f"{offset:+d} hours")


def month_key(bucket_value) -> str:
    return bucket_value if isinstance(bucket_value, str) else bucket_value.strftime("%Y-%m")


# --- counts -------------------------------------------------------------------------------


def _stage_column(attr: str):
    return getattr(Wish, attr)


def stage_totals(session: Session, narrow: Narrow, period: Period) -> Counter:
    """How many wishes reached each stage within the period: one indexed range count each."""
    totals = Counter()
    for key, _, attr in STAGES:
        column = _stage_column(attr)
        totals[key] = session.scalar(narrow(select(func.count()).select_from(Wish)).where(period.holds(column))) or 0
    return totals


def monthly_counts(session: Session, narrow: Narrow, months: list[str]) -> dict[str, Counter]:
    """Each stage counted per local month, over the given consecutive months."""
    span = months_period(months)
    monthly: dict[str, Counter] = {m: Counter() for m in months}
    for key, _, attr in STAGES:
        column = _stage_column(attr)
        bucket = month_bucket(session, column).label("month")
        rows = session.execute(narrow(select(bucket, func.count()).select_from(Wish))
                               .where(span.holds(column)).group_by(bucket))
        for bucket_value, n in rows:
            month = month_key(bucket_value)
            if month in monthly:
                monthly[month][key] = n
    return monthly


@dataclass
class AreaRow:
    level: str  # 街道, 社区, 网格
    name: str
    counts: Counter = field(default_factory=Counter)


def area_counts(session: Session, narrow: Narrow, period: Period) -> list[AreaRow]:
    """Each stage per street, community and grid. Every area with a wish in scope is listed,
    with zeros when nothing happened there in the period."""
    counts = [func.count().filter(period.holds(_stage_column(attr))) if period.bounded
              else func.count(_stage_column(attr)) for _, _, attr in STAGES]
    query = narrow(select(Wish.community_id, Wish.grid_id, *counts).select_from(Wish))
    if period.bounded:
        query = query.where(or_(*(period.holds(_stage_column(attr)) for _, _, attr in STAGES)))
    found = {(community, grid): row for community, grid, *row in session.execute(
        query.group_by(Wish.community_id, Wish.grid_id))}

    # Areas with wishes but nothing in the period: index probes, not a scan of every wish.
    in_scope = narrow(select(Wish.id))
    grids_with_wishes = session.execute(select(Grid.id, Grid.community_id).where(
        exists(in_scope.where(Wish.grid_id == Grid.id)))).all()
    communities_without_grid = session.scalars(select(Community.id).where(
        exists(in_scope.where(Wish.community_id == Community.id, Wish.grid_id.is_(None))))).all()
    present = {(community, grid) for grid, community in grids_with_wishes}
    present |= {(community, None) for community in communities_without_grid}
    present |= set(found)
    return named_areas(session, found, present)


def named_areas(session: Session, found: dict, present: set) -> list[AreaRow]:
    """Area rows by street, community and grid from counts per (community, grid or None) in
    STAGES order; `present` areas without counts get zeros."""
    names = {cid: (name, street) for cid, name, street in session.execute(
        select(Community.id, Community.name, Street.name).outerjoin(Street, Community.street_id == Street.id))}
    grid_names = dict(session.execute(select(Grid.id, Grid.name).where(
        Grid.community_id.in_({c for c, _ in present}))).all())
    totals: dict[tuple[str, str], list[int]] = {}
    zeros = (0,) * len(STAGES)

    def add(level: str, name: str, row) -> None:
        total = totals.get((level, name))
        if total is None:
            totals[(level, name)] = list(row)
        else:
            for i, n in enumerate(row):
                total[i] += n

    for community, grid in present:
        row = found.get((community, grid), zeros)
        community_name, street = names[community]
        if street:
            add("街道", street, row)
        add("社区", community_name, row)
        if grid is not None:
            add("网格", f"{community_name}/{grid_names[grid]}", row)
    order = {level: i for i, level in enumerate(AREA_LEVELS)}
    keys = [key for key, _, _ in STAGES]
    return [AreaRow(level, name, Counter(dict(zip(keys, counts))))
            for (level, name), counts in sorted(totals.items(), key=lambda item: (order[item[0][0]], item[0][1]))]


def category_counts(session: Session, narrow: Narrow, period: Period) -> list[tuple[str, int]]:
    """Wishes collected in the period per category, most first (ties by name)."""
    category = func.coalesce(Wish.category, UNCATEGORISED).label("category")
    n = func.count().label("n")
    rows = session.execute(narrow(select(category, n).select_from(Wish)).where(period.holds(Wish.created_at))
                           .group_by(category).order_by(n.desc(), category))
    return [(name, count) for name, count in rows]


def claim_in_scope(narrow: Narrow):
    """A condition on Claim: its wish is in scope (nothing to check when the scope is everything)."""
    wishes = narrow(select(Wish.id))
    return true() if wishes.whereclause is None else Claim.wish_id.in_(wishes)


def unit_counts(session: Session, narrow: Narrow, period: Period) -> list[tuple[str, int, int]]:
    """Per partner unit (the member's unit; 个人 without one): claims taken and claims completed
    in the period, most completed first."""
    unit = func.coalesce(Unit.name, NO_UNIT).label("unit")
    taken = and_(Claim.status != RELEASED, period.holds(Claim.created_at))
    done = and_(Claim.status == COMPLETED, period.holds(Claim.ended_at))
    claims_n = func.count().filter(taken).label("claims")
    done_n = func.count().filter(done).label("done")
    rows = session.execute(
        select(unit, claims_n, done_n).select_from(Claim)
        .join(Person, Claim.member_id == Person.id).outerjoin(Unit, Person.unit_id == Unit.id)
        .where(claim_in_scope(narrow), or_(taken, done))
        .group_by(unit).order_by(done_n.desc(), claims_n.desc(), unit))
    return [(name, claims, completed) for name, claims, completed in rows]


def honour_roll(session: Session, narrow: Narrow, period: Period, limit: int = HONOUR_ROLL) -> list[tuple[str, str, int]]:
    """The members who completed most claims in the period: name, unit, count (ties by name)."""
    n = func.count().label("n")
    rows = session.execute(
        select(Person.name, func.coalesce(Unit.name, NO_UNIT), n).select_from(Claim)
        .join(Person, Claim.member_id == Person.id).outerjoin(Unit, Person.unit_id == Unit.id)
        .where(claim_in_scope(narrow), Claim.status == COMPLETED,
               period.holds(Claim.ended_at))
        .group_by(Person.id, Person.name, Unit.name).order_by(n.desc(), Person.name, Person.id).limit(limit))
    return [(name, unit, count) for name, unit, count in rows]


# --- medians ------------------------------------------------------------------------------


def _hours(start: datetime, end: datetime) -> float:
    return (local_time(end) - local_time(start)).total_seconds() / 3600


def median_hours(session: Session, narrow: Narrow, start_attr: str, end_attr: str, period: Period) -> float | None:
    """The median hours from one stage to the next, over the wishes that reached the later stage
    in the period. PostgreSQL's percentile_cont; elsewhere the middle one or two rows by order."""
    start, end = _stage_column(start_attr), _stage_column(end_attr)
    condition = and_(period.holds(end), start.is_not(None))
    if _dialect(session) == "postgresql":
        seconds = cast(func.extract("epoch", end - start), Float)
        value = session.scalar(narrow(select(func.percentile_cont(0.5).within_group(seconds)).select_from(Wish))
                               .where(condition))
        return None if value is None else value / 3600
    n = session.scalar(narrow(select(func.count()).select_from(Wish)).where(condition)) or 0
    if not n:
        return None
    middle = session.execute(
        narrow(select(start, end).select_from(Wish)).where(condition)
        .order_by(func.julianday(end) - func.julianday(start))
        .limit(2 - n % 2).offset((n - 1) // 2)).all()
    hours = [_hours(a, b) for a, b in middle]
    return sum(hours) / len(hours)


# --- the whole page -----------------------------------------------------------------------


@dataclass
class Figures:
    month: str | None
    months: list[str]
    monthly: dict[str, Counter]
    totals: Counter
    areas: list[AreaRow]
    units: list[tuple[str, int, int]]  # unit, claims, completed
    members: list[tuple[str, str, int]]  # name, unit, completed
    categories: list[tuple[str, int]]
    median_claim_hours: float | None
    median_complete_hours: float | None

    def monthly_for(self, month: str) -> Counter:
        return self.monthly.get(month, Counter())


@dataclass(frozen=True)
class Area:
    """The roll-up's name for a scope narrowed to a community or a grid (`narrow` says the same)."""

    community: int | None = None
    grid: int | None = None


def compute(session: Session, narrow: Narrow, month: str | None, now: datetime, rolled_up: bool = True,
            area: Area | None = None, _retry: bool = True) -> Figures:
    """The figures page. For everything (`narrow` is `everything`), or a community or grid
    given as `area` too, the counts come from the clock's roll-up (bot/rollup.py) once it is
    built, corrected for what changed since; `rolled_up=False` counts directly. Either way the
    figures are the same."""
    period = month_period(month)
    months = recent_months(local_time(now))
    rollup = None
    if rolled_up and narrow is everything:
        rollup = Rollup.load(session)
    elif rolled_up and area is not None and (area.community is not None or area.grid is not None):
        rollup = Rollup.load(session, area.community, area.grid)
    if rollup is not None and month is None and _dialect(session) == "postgresql":
        medians = dict(median_claim_hours=rollup.median_hours(session, "to_claim"),
                       median_complete_hours=rollup.median_hours(session, "to_complete"))
    else:
        medians = dict(
            median_claim_hours=median_hours(session, narrow, "published_at", "claimed_at", period),
            median_complete_hours=median_hours(session, narrow, "claimed_at", "completed_at", period),
        )
    if rollup is not None:
        key = month or ALL_MONTHS
        found, present = rollup.areas(session, key)
        result = Figures(
            month=month, months=months, monthly=rollup.monthly(session, months),
            totals=rollup.stage_totals(session, key), areas=named_areas(session, found, present),
            units=rollup.units(session, key), members=rollup.honour_roll(session, key, HONOUR_ROLL),
            categories=rollup.categories(session, key), **medians)
        if rollup.still_current(session):
            return result
        # The clock's look committed meanwhile (a minute's chance of a page's time): once more.
        return compute(session, narrow, month, now, rolled_up=_retry, area=area, _retry=False)
    return Figures(
        month=month, months=months, monthly=monthly_counts(session, narrow, months),
        totals=stage_totals(session, narrow, period),
        areas=area_counts(session, narrow, period),
        units=unit_counts(session, narrow, period),
        members=honour_roll(session, narrow, period),
        categories=category_counts(session, narrow, period),
        **medians,
    )


# --- 统计 in chat ------------------------------------------------------------------------


def top_claiming_units(session: Session, narrow: Narrow, period: Period, limit: int) -> list[tuple[str, int]]:
    """The units whose members took most claims in the period (the unit at the time of claiming)."""
    n = func.count(Claim.id).label("n")
    rows = session.execute(
        select(Unit.name, n).join(Claim, Claim.unit_id == Unit.id)
        .where(claim_in_scope(narrow), Claim.status != RELEASED,
               period.holds(Claim.created_at))
        .group_by(Unit.name).order_by(n.desc(), Unit.name).limit(limit))
    return [(name, count) for name, count in rows]


def where(condition) -> Narrow:
    """A scope given as a condition on Wish."""
    return lambda query: query.where(condition)
