"""Volunteer registration (双报到) and proof of completion."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped, utcnow
from .directory import Community, Person, Unit
from .errors import InvalidState
from .wish import REASON_LIMIT, limited

REGISTRATION_PENDING = "pending"
REGISTRATION_APPROVED = "approved"
REGISTRATION_REJECTED = "rejected"


class Registration(Timestamped, Base):
    """A member's request to register with a community; numbered R12 in chat."""

    __tablename__ = "registration"
    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    unit_name: Mapped[str] = mapped_column(String(128))
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))
    phone: Mapped[str] = mapped_column(String(20))
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("community.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=REGISTRATION_PENDING, index=True)
    reason: Mapped[Optional[str]] = mapped_column(String(200))
    decided_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    decided_at: Mapped[Optional[datetime]]

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    unit: Mapped[Optional[Unit]] = relationship()
    community: Mapped[Optional[Community]] = relationship()

    @property
    def ref(self) -> str:
        return f"R{self.id}"

    def approve(self, by: Person, unit: Unit) -> None:
        """The person becomes a member of the community (keeping any other role) with the unit."""
        self._decide(by, REGISTRATION_APPROVED)
        person = self.person
        person.add_role("member")
        if person.name != self.name:
            person.name = self.name
        person.phone = self.phone
        if person.community_id != self.community_id:
            person.community = self.community
            person.grid = None  # a grid belongs to one community
        self.unit = person.unit = unit

    def reject(self, by: Person, reason: str) -> None:
        self._decide(by, REGISTRATION_REJECTED)
        self.reason = limited(reason, REASON_LIMIT, "驳回原因")

    def _decide(self, by: Person, status: str) -> None:
        if self.status != REGISTRATION_PENDING:
            raise InvalidState(f"报到申请 {self.ref} 已经处理过了。")
        self.status = status
        self.decided_by_id = by.id
        self.decided_at = utcnow()


class Proof(Timestamped, Base):
    """A photo a member sent after `完成 N`; the image itself is fetched by a job."""

    __tablename__ = "proof"
    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claim.id"), index=True)
    media_id: Mapped[str] = mapped_column(String(256))
    pic_url: Mapped[Optional[str]] = mapped_column(String(512))
    content_type: Mapped[Optional[str]] = mapped_column(String(64))
    image: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    fetched_at: Mapped[Optional[datetime]]
