"""Wishes and claims, and the rules that guard their states.

A wish: pending_review -> published -> claimed (every slot taken) -> completed -> confirmed;
also rejected and withdrawn. A claim: active -> completed or released.
The methods here change state or raise a typed UserError; they never commit.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ColumnElement, Float, ForeignKey, Index, String, Text, literal_column, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, utcnow
from .directory import Community, Grid, Person, Unit
from .errors import AlreadyTaken, BadInput, InvalidState, NotAllowed

PENDING_REVIEW = "pending_review"
PUBLISHED = "published"
CLAIMED = "claimed"
COMPLETED = "completed"
CONFIRMED = "confirmed"
REJECTED = "rejected"
WITHDRAWN = "withdrawn"

STATUS_LABELS = {
    PENDING_REVIEW: "待审核",
    PUBLISHED: "待认领",
    CLAIMED: "已认领",
    COMPLETED: "已完成，待确认",
    CONFIRMED: "已圆梦",
    REJECTED: "未通过",
    WITHDRAWN: "已撤回",
}

# The five stages people count (统计 and the figures page alike): key, heading, and the wish's
# timestamp that puts it in a month. A wish of several slots counts as claimed once every slot is.
STAGES = (
    ("collected", "征集", "created_at"),
    ("published", "发布", "published_at"),
    ("claimed", "认领", "claimed_at"),
    ("completed", "完成", "completed_at"),
    ("confirmed", "确认", "confirmed_at"),
)

ACTIVE = "active"
RELEASED = "released"
CLAIM_LABELS = {ACTIVE: "进行中", COMPLETED: "已完成", RELEASED: "已放弃"}

# Why a wish cannot be claimed, by its state.
_NOT_OPEN = {
    PENDING_REVIEW: "还在等网格员审核，发布后才能认领",
    COMPLETED: "已经完成了",
    CONFIRMED: "已经圆梦了",
    REJECTED: "没有通过审核",
    WITHDRAWN: "已经由许愿人撤回了",
}

# For answers built from selected columns rather than loaded rows (the chat's lists).
def wish_ref(number: int) -> str:
    return f"#{number}"


def status_literal(status: str) -> ColumnElement[str]:
    """A wish's or claim's status written into a statement rather than bound, for a condition that
    must match a partial index's own (`status = 'published'`, `status = 'active'`): with a bound
    value, SQLite re-plans the statement on every run and PostgreSQL's cached plans cannot use
    the index."""
    if status not in STATUS_LABELS and status not in CLAIM_LABELS:
        raise ValueError(f"not a status: {status!r}")
    return literal_column(f"'{status}'")


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def claim_label(status: str) -> str:
    return CLAIM_LABELS.get(status, status)


MAX_SLOTS = 50
MAX_HOURS = 24  # hours one claimer may record for one wish
REASON_LIMIT = 200  # the columns' sizes
NOTE_LIMIT = 500


def limited(text: str | None, limit: int, what: str) -> str | None:
    """The one rule for text longer than it may be: refused with a clear reply, never cut."""
    if text is not None and len(text) > limit:
        raise BadInput(f"{what}太长了，请控制在{limit}字以内。")
    return text


class Wish(Timestamped, Base):
    __tablename__ = "wish"
    # On PostgreSQL the migration also adds trigram (pg_trgm) indexes on wish.content and
    # person.name for the ledger's text search.
    __table_args__ = (
        Index("ix_wish_created_at", "created_at"),
        # An area's wishes in id order: a community's or grid's ledger export walks these.
        Index("ix_wish_community_id_id", "community_id", "id"),
        Index("ix_wish_grid_id_id", "grid_id", "id"),
        # 心愿列表: a community's open wishes, most urgent first, and how many there are.
        Index("ix_wish_open_list", "community_id", text("urgency DESC"), "id",
              sqlite_where=text(f"status = '{PUBLISHED}'"), postgresql_where=text(f"status = '{PUBLISHED}'")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    content: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=PENDING_REVIEW, index=True)
    slots: Mapped[int] = mapped_column(default=1)
    category: Mapped[Optional[str]] = mapped_column(String(20))
    urgency: Mapped[int] = mapped_column(default=2)  # 1 low … 4 urgent
    kind: Mapped[str] = mapped_column(String(20), default="individual")  # or "common" (共性)
    beneficiaries: Mapped[int] = mapped_column(default=1)

    requester_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grid.id"), index=True)

    reviewed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    reject_reason: Mapped[Optional[str]] = mapped_column(String(200))
    published_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    claimed_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    completed_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    confirmed_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    feedback: Mapped[Optional[str]] = mapped_column(String(500))
    rating: Mapped[Optional[int]]
    confirmed_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))

    requester: Mapped[Person] = relationship(foreign_keys=[requester_id])
    recorded_by: Mapped[Optional[Person]] = relationship(foreign_keys=[recorded_by_id])
    community: Mapped[Community] = relationship()
    grid: Mapped[Optional[Grid]] = relationship()
    claims: Mapped[list["Claim"]] = relationship(
        back_populates="wish", order_by="Claim.id", cascade="all, delete-orphan"
    )
    # Read-only: events are written by Context.log as rows of their own.
    events: Mapped[list["WishEvent"]] = relationship(order_by="WishEvent.id", viewonly=True)

    @property
    def ref(self) -> str:
        return wish_ref(self.id)

    @property
    def status_label(self) -> str:
        return status_label(self.status)

    @property
    def active_claims(self) -> list["Claim"]:
        return [c for c in self.claims if c.status == ACTIVE]

    @property
    def taken_slots(self) -> int:
        return sum(1 for c in self.claims if c.status in (ACTIVE, COMPLETED))

    @property
    def open_slots(self) -> int:
        return max(self.slots - self.taken_slots, 0)

    def claim_of(self, member: Person, status: str = ACTIVE) -> Optional["Claim"]:
        """The member's claim in that status (active: the one they are serving now)."""
        # Compare objects too: a claim made in this transaction may not be flushed yet.
        return next((c for c in self.claims if c.status == status and (c.member is member or c.member_id == member.id)),
                    None)

    # --- review ---------------------------------------------------------------------------

    def publish(self, reviewer: Person | None, slots: int = 1) -> None:
        if self.status != PENDING_REVIEW:
            raise InvalidState(f"心愿 {self.ref} 已经审核过了，现在是「{self.status_label}」。")
        self.publish_directly(reviewer, slots)

    def publish_directly(self, reviewer: Person | None, slots: int = 1) -> None:
        """Published as it is made: a community without review (no reviewer), or a wish a grid
        worker records for a resident (代许愿: they are its reviewer)."""
        if not 1 <= slots <= MAX_SLOTS:
            raise InvalidState(f"人数要在1到{MAX_SLOTS}之间。")
        self.slots = slots
        self.status = PUBLISHED
        self.reviewed_by_id = reviewer.id if reviewer else None
        self.published_at = utcnow()

    def reject(self, reviewer: Person, reason: str) -> None:
        if self.status != PENDING_REVIEW:
            raise InvalidState(f"心愿 {self.ref} 已经审核过了，现在是「{self.status_label}」，不能再驳回。")
        self.status = REJECTED
        self.reviewed_by_id = reviewer.id
        self.reject_reason = limited(reason, REASON_LIMIT, "驳回原因")

    def withdraw(self, by: Person) -> None:
        if by.id != self.requester_id:
            raise NotAllowed(f"心愿 {self.ref} 不是您提交的。")
        if self.status == WITHDRAWN:
            raise InvalidState(f"心愿 {self.ref} 已经撤回了。")
        if self.status == REJECTED:
            raise InvalidState(f"心愿 {self.ref} 没有通过审核，不用撤回。")
        if self.status in (COMPLETED, CONFIRMED):
            raise InvalidState(f"心愿 {self.ref} 已经完成了，不能撤回。")
        if self.taken_slots or self.status not in (PENDING_REVIEW, PUBLISHED):
            raise InvalidState(f"心愿 {self.ref} 已有人认领，不能撤回了，请联系网格员。")
        self.status = WITHDRAWN

    def describe_as(self, *, category: str | None = None, urgency: int | None = None,
                    beneficiaries: int | None = None) -> None:
        """A grid worker's correction of what the wish is (the handler checks the values); more
        than one beneficiary makes it a common (共性) wish, one makes it individual again."""
        if category is not None:
            self.category = category
        if urgency is not None:
            self.urgency = urgency
        if beneficiaries is not None:
            self.beneficiaries = beneficiaries
            self.kind = "common" if beneficiaries > 1 else "individual"

    # --- claims ---------------------------------------------------------------------------

    def claim_by(self, member: Person, assigned_by: Person | None = None) -> "Claim":
        """Take one slot. Callers load the wish FOR UPDATE so concurrent claims serialise."""
        if member.id == self.requester_id or member is self.requester:
            raise NotAllowed(f"心愿 {self.ref} 是您自己的心愿，不能认领。")
        if self.claim_of(member):
            raise InvalidState(f"您已认领心愿 {self.ref}。")
        if self.claim_of(member, COMPLETED):  # one slot, one report and one set of hours per person
            raise InvalidState(f"您已完成心愿 {self.ref}，不能再认领。要更正工时，请发：完成 {self.id} 2小时")
        if self.status == CLAIMED or (self.status == PUBLISHED and not self.open_slots):
            raise AlreadyTaken(f"心愿 {self.ref} 已被认领，请看看其他心愿。")
        if self.status != PUBLISHED:
            raise InvalidState(f"心愿 {self.ref} {_NOT_OPEN.get(self.status, '现在不能认领')}。")
        claim = Claim(member=member, assigned_by=assigned_by, status=ACTIVE)
        self.claims.append(claim)
        if not self.open_slots:
            self.status = CLAIMED
            self.claimed_at = utcnow()
        return claim

    def release(self, member: Person) -> "Claim":
        claim = self._active_claim_of(member)
        claim.status = RELEASED
        claim.ended_at = utcnow()
        if self.status == CLAIMED:
            self.status = PUBLISHED
            self.claimed_at = None
        return claim

    def complete_by(self, member: Person, note: str | None, hours: float | None = None,
                    reported_by: Person | None = None) -> "Claim":
        """The member's report, or staff's on their behalf (`reported_by`: the hours are theirs
        to vouch for, as with 工时)."""
        claim = self._active_claim_of(member)
        note = limited(note, NOTE_LIMIT, "说明")
        if hours is not None:
            claim.record_hours(hours, reported_by or member)
        claim.status = COMPLETED
        claim.note = note
        claim.ended_at = utcnow()
        if self.status == CLAIMED and not self.active_claims:
            self.status = COMPLETED
            self.completed_at = utcnow()
        return claim

    def _active_claim_of(self, member: Person) -> "Claim":
        claim = self.claim_of(member)
        if claim is not None:
            return claim
        earlier = [c for c in self.claims if c.member is member or c.member_id == member.id]
        if earlier and earlier[-1].status == COMPLETED:
            raise InvalidState(f"您已经报告完成心愿 {self.ref} 了，谢谢！")
        if earlier and earlier[-1].status == RELEASED:
            raise InvalidState(f"您对心愿 {self.ref} 的认领已经放弃了（自己放弃或超时自动放弃）。")
        raise InvalidState(f"您没有认领心愿 {self.ref}。")

    # --- the requester's confirmation -----------------------------------------------------

    def confirm(self, by: Person, feedback: str | None, rating: int | None) -> None:
        if by.id != self.requester_id and not by.is_staff:
            raise NotAllowed(f"心愿 {self.ref} 不是您提交的。")
        if self.status == CONFIRMED:
            raise InvalidState(f"心愿 {self.ref} 已经确认过了，谢谢您！")
        if self.status != COMPLETED:
            raise InvalidState(f"心愿 {self.ref} 还没有完成（现在是「{self.status_label}」），完成后才能确认。")
        self.status = CONFIRMED
        self.confirmed_at = utcnow()
        self.confirmed_by_id = by.id
        self.feedback = limited(feedback, NOTE_LIMIT, "评价") or None
        self.rating = rating
        for claim in self.claims:
            if claim.status == COMPLETED:
                claim.verify_hours(by)

    def hours_claim(self, member: Person) -> "Claim":
        """The claim whose hours `member`'s service on this wish counts under: the active or
        completed one (a released claim's hours never count)."""
        claim = next((c for c in reversed(self.claims) if c.status in (ACTIVE, COMPLETED)
                      and (c.member is member or c.member_id == member.id)), None)
        if claim is None:
            raise InvalidState(f"{member.name}没有认领心愿 {self.ref}，或已放弃，不能记工时。")
        return claim


class Claim(Timestamped, Base):
    __tablename__ = "claim"
    __table_args__ = (
        # One active claim per member and wish, enforced by the database as well.
        Index(
            "uq_claim_active_member",
            "wish_id",
            "member_id",
            unique=True,
            sqlite_where=text("status = 'active'"),
            postgresql_where=text("status = 'active'"),
        ),
        # The sweeps (reminders, releases, the digest) look only at active claims, by age.
        Index("ix_claim_active_created_at", "created_at",
              sqlite_where=text("status = 'active'"), postgresql_where=text("status = 'active'")),
        Index("ix_claim_created_at", "created_at"),
        # The ledger's unit filter reads (unit, status, wish) from the index alone.
        Index("ix_claim_unit_id_status_wish_id", "unit_id", "status", "wish_id"),
        # Service hours count completed, verified claims only (handlers.service_figures), by when.
        Index("ix_claim_verified_ended_at", "ended_at",
              sqlite_where=text("status = 'completed' AND hours_verified_at IS NOT NULL"),
              postgresql_where=text("status = 'completed' AND hours_verified_at IS NOT NULL")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wish.id"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    assigned_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    status: Mapped[str] = mapped_column(String(20), default=ACTIVE)
    note: Mapped[Optional[str]] = mapped_column(String(500))
    proof_media_id: Mapped[Optional[str]] = mapped_column(String(256))  # unused: photos are Proof rows
    ended_at: Mapped[Optional[datetime]] = mapped_column(index=True)
    reminded_at: Mapped[Optional[datetime]]
    # Service hours: recorded by the member (完成 N X小时) or a grid worker (工时 N 姓名 X);
    # verified when the wish is confirmed, by whoever confirmed it.
    hours: Mapped[Optional[float]] = mapped_column(Float)
    hours_recorded_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    hours_recorded_at: Mapped[Optional[datetime]]
    hours_verified_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    hours_verified_at: Mapped[Optional[datetime]]

    wish: Mapped[Wish] = relationship(back_populates="claims")
    member: Mapped[Person] = relationship(foreign_keys=[member_id])
    assigned_by: Mapped[Optional[Person]] = relationship(foreign_keys=[assigned_by_id])
    unit: Mapped[Optional[Unit]] = relationship()  # the member's unit when they claimed
    hours_recorded_by: Mapped[Optional[Person]] = relationship(foreign_keys=[hours_recorded_by_id])
    hours_verified_by: Mapped[Optional[Person]] = relationship(foreign_keys=[hours_verified_by_id])

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if self.unit_id is None and self.member is not None:
            self.unit_id = self.member.unit_id

    @property
    def status_label(self) -> str:
        return claim_label(self.status)

    @property
    def hours_verified(self) -> bool:
        return self.hours_verified_at is not None

    @property
    def counts(self) -> bool:
        """Whether this claim's hours count towards points: a completed, verified service."""
        return self.status == COMPLETED and self.hours_verified

    def record_hours(self, hours: float, by: Person) -> None:
        """The member's own report, or a grid worker's record. A verified record changes only
        by staff, and is then verified again by them (they are the ones vouching for it)."""
        if self.status == RELEASED:
            raise InvalidState(f"{self.member.name}已放弃心愿 {self.wish.ref}，工时不计。")
        if not 0 < hours <= MAX_HOURS:
            raise BadInput(f"工时要在0到{MAX_HOURS}小时之间。")
        staff = by.is_staff and by.id != self.member_id
        if self.hours_verified and not staff:
            raise InvalidState(f"心愿 {self.wish.ref} 的工时已核实，要改请联系网格员。")
        self.hours = round(hours, 2)
        self.hours_recorded_by_id = by.id
        self.hours_recorded_at = utcnow()
        if self.hours_verified or (staff and self.wish.status == CONFIRMED):
            self.verify_hours(by)

    def verify_hours(self, by: Person) -> None:
        self.hours_verified_by_id = by.id
        self.hours_verified_at = utcnow()


def format_hours(hours: float | None) -> str:
    """2.0 -> `2小时`, 2.5 -> `2.5小时`, None -> `未填`."""
    if hours is None:
        return "未填"
    return f"{hours:g}小时"


# How the timeline reads to people (chat, dashboard, API); unknown actions show as written.
EVENT_LABELS = {
    "submit": "提交心愿", "record": "代许愿", "publish": "审核发布", "reject": "审核驳回",
    "withdraw": "撤回", "claim": "认领", "assign": "派单", "release": "放弃认领",
    "complete": "报告完成", "proof": "上传照片", "confirm": "确认圆梦",
    "category": "修改类别", "urgency": "修改紧急程度", "kind": "修改受益人数",
    "pass_on": "请网格员转告", "hours": "记录工时", "certify": "出具服务证明",
    "complete_for": "代报完成", "cancel_claim": "取消认领",
}
CHANNEL_LABELS = {"wechat": "微信", "wecom": "企业微信", "web": "管理台", "cli": "命令行", "system": "系统",
                  "demo": "演示"}


class WishEvent(Timestamped, Base):
    """The timeline: every change to a wish, who made it, through which channel."""

    __tablename__ = "wish_event"
    # What changed lately: the figures' roll-up (bot/rollup.py) reads the areas to look at again.
    __table_args__ = (Index("ix_wish_event_created_at", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    wish_id: Mapped[int] = mapped_column(ForeignKey("wish.id"), index=True)
    actor_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[str] = mapped_column(String(20))  # wechat, wecom, web, cli, system
    action: Mapped[str] = mapped_column(String(32))
    before: Mapped[Optional[str]] = mapped_column(String(20))
    after: Mapped[Optional[str]] = mapped_column(String(20))
    note: Mapped[Optional[str]] = mapped_column(String(500))

    actor: Mapped[Optional[Person]] = relationship()

    @property
    def label(self) -> str:
        return EVENT_LABELS.get(self.action, self.action)

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)
