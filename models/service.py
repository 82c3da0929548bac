"""Volunteer-service certificates (志愿服务证明): what was certified, to whom, by whom.

The lines are kept as issued (a JSON snapshot), so a certificate read back later shows what
was certified then, whatever changed since; its number is on the timeline of each wish it
covers."""
from __future__ import annotations

import json
from datetime import date
from typing import Optional

from sqlalchemy import Date, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .directory import Community, Person


class Certificate(Timestamped, Base):
    __tablename__ = "certificate"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[Optional[str]] = mapped_column(String(32), unique=True)  # set once the id is known
    person_id: Mapped[int] = mapped_column(ForeignKey("person.id"), index=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"), index=True)
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)  # inclusive
    services: Mapped[int]
    hours: Mapped[float] = mapped_column(Float)  # verified hours certified
    lines_json: Mapped[str] = mapped_column(Text)
    issued_by_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    channel: Mapped[str] = mapped_column(String(20))

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    community: Mapped[Community] = relationship()
    issued_by: Mapped[Optional[Person]] = relationship(foreign_keys=[issued_by_id])

    @property
    def lines(self) -> list[dict]:
        return json.loads(self.lines_json)

    def assign_number(self, year: int) -> None:
        """`2026-003-00012`: the year issued, the community, the row."""
        self.number = f"{year}-{self.community_id:03d}-{self.id:05d}"
