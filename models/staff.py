"""Dashboard logins."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .directory import Community, Grid, Person

STAFF_ROLES = ("admin", "community", "gridworker")


class StaffUser(Timestamped, Base):
    __tablename__ = "staff_user"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16))
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("community.id"))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grid.id"))
    # The person this login acts as, so the timeline names who did what from the dashboard.
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    # Part of the id a dashboard session carries; a logout raises it, so no copy of the
    # session cookie (nor any other session of this login) works afterwards.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    community: Mapped[Optional[Community]] = relationship()
    grid: Mapped[Optional[Grid]] = relationship()
    person: Mapped[Optional[Person]] = relationship()
