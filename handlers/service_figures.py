"""Service-hour figures by SQL aggregation, beside the stage counts of the figures page: the
honour roll by member and by partner unit with verified hours and points, and verified hours
per community per month. Only completed, verified claims count, dated by when they were done.

`narrow` is the caller's scope (a function narrowing a Select on Wish); a period is anything
with UTC `start` and `end` (None: unbounded)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import and_, distinct, func, select, true
from sqlalchemy.orm import Session

from models import Claim, Community, Person, Unit, Wish, local_zone

from .service_records import NO_UNIT, Narrow, Span, points_for

HONOUR_ROLL = 20


def _counted(period):
    """Completed, verified services within the period."""
    conditions = [Claim.status == "completed", Claim.hours_verified_at.is_not(None)]
    if period is not None and period.start is not None:
        conditions.append(Claim.ended_at >= period.start)
    if period is not None and period.end is not None:
        conditions.append(Claim.ended_at < period.end)
    return and_(*conditions)


def _in_scope(narrow: Narrow):
    wishes = narrow(select(Wish.id))
    return true() if wishes.whereclause is None else Claim.wish_id.in_(wishes)


def month_bucket(session: Session, column):
    """`YYYY-MM` of the local month a timestamp falls in."""
    if session.get_bind().dialect.name == "postgresql":
        return func.to_char(func.timezone(str(local_zone()), column), "YYYY-MM")
    offset = int(datetime(2000, 1, 1, tzinfo=local_zone()).utcoffset().total_seconds() // 3600)
    return func.strftime("%Y-%m", column, f"{offset:+d} hours")  # SQLite keeps UTC text


@dataclass(frozen=True)
class HoursRow:
    name: str
    unit: str
    services: int
    hours: float
    points: float
    members: int = 1


def member_hours(session: Session, narrow: Narrow, period, per_hour: float,
                 limit: int = HONOUR_ROLL) -> list[HoursRow]:
    """The members with most verified hours in the period (the unit they served for)."""
    hours = func.sum(func.coalesce(Claim.hours, 0)).label("hours")
    unit = func.coalesce(Unit.name, NO_UNIT)
    rows = session.execute(
        select(Person.name, unit, func.count(Claim.id), hours).select_from(Claim)
        .join(Person, Claim.member_id == Person.id).outerjoin(Unit, Claim.unit_id == Unit.id)
        .where(_in_scope(narrow), _counted(period))
        .group_by(Person.id, Person.name, Unit.name)
        .order_by(hours.desc(), func.count(Claim.id).desc(), Person.name, Person.id).limit(limit))
    return [HoursRow(name, unit_name, n, float(h), points_for(float(h), per_hour)) for name, unit_name, n, h in rows]


def unit_hours(session: Session, narrow: Narrow, period, per_hour: float) -> list[HoursRow]:
    """Per partner unit: members who served, services, verified hours, points; most hours first."""
    hours = func.sum(func.coalesce(Claim.hours, 0)).label("hours")
    unit = func.coalesce(Unit.name, NO_UNIT).label("unit")
    rows = session.execute(
        select(unit, func.count(distinct(Claim.member_id)), func.count(Claim.id), hours).select_from(Claim)
        .outerjoin(Unit, Claim.unit_id == Unit.id)
        .where(_in_scope(narrow), _counted(period))
        .group_by(unit).order_by(hours.desc(), unit))
    return [HoursRow(name, name, n, float(h), points_for(float(h), per_hour), members)
            for name, members, n, h in rows]


@dataclass
class MonthlyHours:
    months: list[str]
    communities: dict[str, dict[str, float]] = field(default_factory=dict)  # community -> month -> hours

    def row(self, community: str) -> list[float]:
        return [self.communities[community].get(m, 0.0) for m in self.months]


def monthly_hours(session: Session, narrow: Narrow, months: list[str], span: Span) -> MonthlyHours:
    """Verified hours per community per local month over the given months (`span` bounds them)."""
    bucket = month_bucket(session, Claim.ended_at).label("month")
    rows = session.execute(
        select(Community.name, bucket, func.sum(func.coalesce(Claim.hours, 0))).select_from(Claim)
        .join(Wish, Claim.wish_id == Wish.id).join(Community, Wish.community_id == Community.id)
        .where(_in_scope(narrow), _counted(span))
        .group_by(Community.name, bucket).order_by(Community.name))
    result = MonthlyHours(months)
    for community, month, hours in rows:
        if month in months:
            result.communities.setdefault(community, {})[month] = float(hours)
    return result


@dataclass
class ServiceFigures:
    members: list[HoursRow]
    units: list[HoursRow]
    monthly: MonthlyHours
    per_hour: float


def month_span(month: str) -> Span:
    """`2026-11` -> its local days."""
    year, number = int(month[:4]), int(month[5:])
    following = date(year + 1, 1, 1) if number == 12 else date(year, number + 1, 1)
    return Span.days(date(year, number, 1), following - timedelta(days=1))


def service_figures(session: Session, narrow: Narrow, month: str | None, months: list[str],
                    per_hour: float) -> ServiceFigures:
    """For the figures page: the rolls for the chosen month (None: all time), and the monthly
    hours over the months shown."""
    period = month_span(month) if month else None
    shown = Span.days(month_span(months[0]).first, month_span(months[-1]).last)
    return ServiceFigures(member_hours(session, narrow, period, per_hour), unit_hours(session, narrow, period, per_hour),
                          monthly_hours(session, narrow, months, shown), per_hour)
