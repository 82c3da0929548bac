"""Service records (一单一表一卡): a member's completed claims with their hours, gathered into
quarterly service cards, partner-unit summaries and numbered certificates (志愿服务证明).

Only verified hours count towards points; self-reported hours are shown apart. A released
claim is never a service. `narrow` is the caller's scope: a function narrowing a Select that
joins Wish (the dashboard's `Scope.wishes`; the CLI narrows by --community and --unit)."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.figures import NO_UNIT, Narrow, everything
from models import BadInput, Certificate, Claim, Community, Person, Unit, Wish, local_time, local_zone
from models.wish import COMPLETED

from .context import Context
from .notices import scrub

CONTENT_LIMIT = 30  # a service's content on a card: short, and scrubbed like a group push
_QUARTER = re.compile(r"^\s*(\d{4})\s*[Qq]\s*([1-4])\s*$")


def points_for(hours: float, per_hour: float) -> float:
    return round(hours * per_hour, 2)


def number_text(value: float) -> str:
    """4.0 -> `4`, 4.5 -> `4.5`."""
    return f"{round(value, 2):g}"


# --- periods --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Span:
    """Local days [first, last], as people name them; `start`/`end` are the UTC bounds."""

    first: date
    last: date
    label: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time(), local_zone()).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), local_zone()).astimezone(timezone.utc)

    @classmethod
    def days(cls, first: date, last: date) -> "Span":
        if last < first:
            raise BadInput("结束日期不能早于开始日期。")
        return cls(first, last, f"{first:%Y年%m月%d日}至{last:%Y年%m月%d日}")

    @classmethod
    def quarter(cls, text: str) -> "Span":
        """`2026Q4` -> 2026-10-01 .. 2026-12-31."""
        match = _QUARTER.match(text or "")
        if not match:
            raise BadInput(f"季度请写成 2026Q4 这样：{text}")
        year, quarter = int(match.group(1)), int(match.group(2))
        first = date(year, 3 * quarter - 2, 1)
        following = date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)
        return cls(first, following - timedelta(days=1), f"{year}年第{quarter}季度")

    @classmethod
    def year(cls, year: int) -> "Span":
        return cls(date(year, 1, 1), date(year, 12, 31), f"{year}年")


def local_today() -> date:
    return local_time(datetime.now(timezone.utc)).date()


def current_quarter(now: datetime | None = None) -> str:
    now = local_time(now or datetime.now(timezone.utc))
    return f"{now.year}Q{(now.month - 1) // 3 + 1}"


# --- services --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Service:
    """One completed claim, as a card or certificate shows it."""

    claim_id: int
    wish_id: int
    day: date
    content: str
    hours: float | None
    verified: bool
    recorded_by: str
    verified_by: str
    verified_on: date | None

    @property
    def wish_ref(self) -> str:
        return f"#{self.wish_id}"

    @property
    def hours_text(self) -> str:
        return "未填" if self.hours is None else number_text(self.hours)

    def as_json(self) -> dict:
        return {"claim": self.claim_id, "wish": self.wish_id, "day": self.day.isoformat(),
                "content": self.content, "hours": self.hours, "verified": self.verified,
                "recorded_by": self.recorded_by, "verified_by": self.verified_by,
                "verified_on": self.verified_on.isoformat() if self.verified_on else None}

    @classmethod
    def from_json(cls, row: dict) -> "Service":
        verified_on = row.get("verified_on")
        return cls(row["claim"], row["wish"], date.fromisoformat(row["day"]), row["content"], row["hours"],
                   row["verified"], row["recorded_by"], row["verified_by"],
                   date.fromisoformat(verified_on) if verified_on else None)


def short_content(wish: Wish) -> str:
    text = scrub(wish.content, wish.requester)
    return text if len(text) <= CONTENT_LIMIT else text[: CONTENT_LIMIT - 1] + "…"


def service_of(claim: Claim) -> Service:
    verified = claim.hours_verified
    return Service(
        claim_id=claim.id, wish_id=claim.wish_id, day=local_time(claim.ended_at).date(),
        content=short_content(claim.wish), hours=claim.hours, verified=verified,
        recorded_by=claim.hours_recorded_by.name if claim.hours_recorded_by else claim.member.name,
        verified_by=(claim.hours_verified_by.name if claim.hours_verified_by else "") if verified else "",
        verified_on=local_time(claim.hours_verified_at).date() if verified else None,
    )


def completed_claims(session: Session, span: Span, narrow: Narrow = everything, *, unit: str | None = None,
                     community: str | None = None, member_id: int | None = None,
                     verified_only: bool = False) -> list[Claim]:
    """The services done in the span (by the day they were reported done), oldest first."""
    query = (select(Claim).join(Wish, Claim.wish_id == Wish.id)
             .where(Claim.status == COMPLETED, Claim.ended_at >= span.start, Claim.ended_at < span.end)
             .options(selectinload(Claim.wish).selectinload(Wish.requester),
                      selectinload(Claim.wish).selectinload(Wish.community),
                      selectinload(Claim.member).selectinload(Person.community),
                      selectinload(Claim.unit), selectinload(Claim.hours_recorded_by),
                      selectinload(Claim.hours_verified_by))
             .order_by(Claim.ended_at, Claim.id))
    if unit is not None:
        query = query.join(Unit, Claim.unit_id == Unit.id).where(Unit.name == unit)
    if community is not None:
        query = query.join(Community, Wish.community_id == Community.id).where(Community.name == community)
    if member_id is not None:
        query = query.where(Claim.member_id == member_id)
    if verified_only:
        query = query.where(Claim.hours_verified_at.is_not(None))
    return list(session.scalars(narrow(query)))


# --- cards and unit summaries ----------------------------------------------------------------


@dataclass
class Card:
    """One member's services in one community over the span: the 双报到 service card."""

    member_id: int
    name: str
    phone: str | None
    unit: str
    community: str
    services: list[Service] = field(default_factory=list)

    @property
    def verified_hours(self) -> float:
        return sum(s.hours or 0 for s in self.services if s.verified)

    @property
    def reported_hours(self) -> float:
        """Self-reported hours still waiting for the resident's or grid worker's confirmation."""
        return sum(s.hours or 0 for s in self.services if not s.verified)

    def points(self, per_hour: float) -> float:
        return points_for(self.verified_hours, per_hour)


@dataclass
class UnitSummary:
    unit: str
    members: int
    services: int
    verified_hours: float
    reported_hours: float
    cards: list[Card]


def service_cards(session: Session, span: Span, narrow: Narrow = everything, *, unit: str | None = None,
                  community: str | None = None) -> list[Card]:
    """One card per member and community where they served, by unit then name."""
    cards: dict[tuple[int, int], Card] = {}
    for claim in completed_claims(session, span, narrow, unit=unit, community=community):
        key = (claim.member_id, claim.wish.community_id)
        card = cards.get(key)
        if card is None:
            card = cards[key] = Card(claim.member_id, claim.member.name, claim.member.phone, NO_UNIT,
                                     claim.wish.community.name)
        card.unit = claim.unit.name if claim.unit else NO_UNIT  # the latest service's unit
        card.services.append(service_of(claim))
    return sorted(cards.values(), key=lambda c: (c.unit == NO_UNIT, c.unit, c.community, c.name, c.member_id))


def unit_summaries(cards: list[Card]) -> list[UnitSummary]:
    """One summary per partner unit, to send to the unit with its members' cards."""
    by_unit: dict[str, list[Card]] = {}
    for card in cards:
        by_unit.setdefault(card.unit, []).append(card)
    return [UnitSummary(unit, len({c.member_id for c in group}), sum(len(c.services) for c in group),
                        sum(c.verified_hours for c in group), sum(c.reported_hours for c in group), group)
            for unit, group in by_unit.items()]


# --- certificates ----------------------------------------------------------------------------


def issue_certificate(ctx: Context, member: Person, community: Community, span: Span,
                      narrow: Narrow = everything) -> Certificate:
    """A numbered 志愿服务证明 for the member's verified services in the community over the span,
    noted on each wish's timeline so it can be checked later."""
    claims = completed_claims(ctx.session, span, narrow, community=community.name, member_id=member.id,
                              verified_only=True)
    if not claims:
        raise BadInput(f"{member.name}在{span.label}没有已核实的服务记录，不能出具证明。")
    services = [service_of(claim) for claim in claims]
    certificate = Certificate(
        person=member, community=community, period_start=span.first, period_end=span.last,
        services=len(services), hours=sum(s.hours or 0 for s in services),
        lines_json=json.dumps([s.as_json() for s in services], ensure_ascii=False),
        issued_by_id=ctx.person.id, channel=ctx.channel,
    )
    ctx.session.add(certificate)
    ctx.session.flush()
    certificate.assign_number(local_time(certificate.created_at).year)
    for wish in {claim.wish.id: claim.wish for claim in claims}.values():
        ctx.change(wish, "certify", note=f"志愿服务证明 {certificate.number}（{member.name}）")
    return certificate


def certificate_services(certificate: Certificate) -> list[Service]:
    return [Service.from_json(row) for row in certificate.lines]
