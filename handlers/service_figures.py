"""Service-hour figures by SQL aggregation, beside the stage counts of the figures page: the
honour roll by member and by partner unit with verified hours and points, and verified hours
per community per month. Only completed, verified claims count, dated by when they were done.

`narrow` is the caller's scope (a function narrowing a Select on Wish); a period is
bot.figures' `Period` (UTC bounds; None: unbounded)."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, distinct, func, select
from sqlalchemy.orm import Session

from bot.figures import (
    HONOUR_ROLL,
    NO_UNIT,
    Narrow,
    Period,
    claim_in_scope,
    month_bucket,
    month_key,
    month_period,
    months_period,
)
from models import Claim, Community, Person, Unit, Wish
from models.wish import COMPLETED

from .service_records import points_for


def _counted(period: Period):
    """Completed, verified services within the period."""
    return and_(Claim.status == COMPLETED, Claim.hours_verified_at.is_not(None), period.holds(Claim.ended_at))


@dataclass(frozen=True)
class HoursRow:
    name: str
    unit: str
    services: int
    hours: float
    points: float
    members: int = 1


def member_hours(session: Session, narrow: Narrow, period: Period, per_hour: float,
                 limit: int = HONOUR_ROLL) -> list[HoursRow]:
    """The members with most verified hours in the period (the unit they served for)."""
    hours = func.sum(func.coalesce(Claim.hours, 0)).label("hours")
    unit = func.coalesce(Unit.name, NO_UNIT)
    rows = session.execute(
        select(Person.name, unit, func.count(Claim.id), hours).select_from(Claim)
        .join(Person, Claim.member_id == Person.id).outerjoin(Unit, Claim.unit_id == Unit.id)
        .where(claim_in_scope(narrow), _counted(period))
        .group_by(Person.id, Person.name, Unit.name)
        .order_by(hours.desc(), func.count(Claim.id).desc(), Person.name, Person.id).limit(limit))
    return [HoursRow(name, unit_name, n, float(h), points_for(float(h), per_hour)) for name, unit_name, n, h in rows]


def unit_hours(session: Session, narrow: Narrow, period: Period, per_hour: float) -> list[HoursRow]:
    """Per partner unit: members who served, services, verified hours, points; most hours first."""
    hours = func.sum(func.coalesce(Claim.hours, 0)).label("hours")
    unit = func.coalesce(Unit.name, NO_UNIT).label("unit")
    rows = session.execute(
        select(unit, func.count(distinct(Claim.member_id)), func.count(Claim.id), hours).select_from(Claim)
        .outerjoin(Unit, Claim.unit_id == Unit.id)
        .where(claim_in_scope(narrow), _counted(period))
        .group_by(unit).order_by(hours.desc(), unit))
    return [HoursRow(name, name, n, float(h), points_for(float(h), per_hour), members)
            for name, members, n, h in rows]


@dataclass
class MonthlyHours:
    months: list[str]
    communities: dict[str, dict[str, float]] = field(default_factory=dict)  # community -> month -> hours

    def row(self, community: str) -> list[float]:
        return [self.communities[community].get(m, 0.0) for m in self.months]


def monthly_hours(session: Session, narrow: Narrow, months: list[str]) -> MonthlyHours:
    """Verified hours per community per local month over the given consecutive months."""
    bucket = month_bucket(session, Claim.ended_at).label("month")
    rows = session.execute(
        select(Community.name, bucket, func.sum(func.coalesce(Claim.hours, 0))).select_from(Claim)
        .join(Wish, Claim.wish_id == Wish.id).join(Community, Wish.community_id == Community.id)
        .where(claim_in_scope(narrow), _counted(months_period(months)))
        .group_by(Community.name, bucket).order_by(Community.name))
    result = MonthlyHours(months)
    for community, bucket_value, hours in rows:
        month = month_key(bucket_value)
        if month in months:
            result.communities.setdefault(community, {})[month] = float(hours)
    return result


@dataclass
class ServiceFigures:
    members: list[HoursRow]
    units: list[HoursRow]
    monthly: MonthlyHours
    per_hour: float


def service_figures(session: Session, narrow: Narrow, month: str | None, months: list[str],
                    per_hour: float) -> ServiceFigures:
    """For the figures page: the rolls for the chosen month (None: all time), and the monthly
    hours over the months shown."""
    period = month_period(month)
    return ServiceFigures(member_hours(session, narrow, period, per_hour), unit_hours(session, narrow, period, per_hour),
                          monthly_hours(session, narrow, months), per_hour)
