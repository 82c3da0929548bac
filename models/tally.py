"""The figures' roll-up (bot/rollup.py): counts per month, area, category and member, built by
the clock from the wishes and claims, never written by a handler."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base


class FigureTally(Base):
    """Counts per area (community, grid; 0: no grid): a stage per month and in all (month `*`),
    wishes collected per category, claims taken and completed per member. Rebuilt an area at
    a time, so an area's rows are always what its wishes said at the clock's last look."""

    __tablename__ = "figure_tally"
    __table_args__ = (
        Index("ix_figure_tally_area", "community_id", "grid_id"),
        Index("ix_figure_tally_month_kind", "month", "kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    month: Mapped[str] = mapped_column(String(7))  # local `2026-11`, or `*`: all months
    community_id: Mapped[int]
    grid_id: Mapped[int]  # 0: none
    category: Mapped[str] = mapped_column(String(20))  # '' where the kind has none
    member_id: Mapped[int]  # 0 where the kind has none
    n: Mapped[int]


class FigureSum(Base):
    """figure_tally summed over every area: what an admin's figures read."""

    __tablename__ = "figure_sum"
    __table_args__ = (Index("ix_figure_sum_kind_month", "kind", "month"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))
    month: Mapped[str] = mapped_column(String(7))
    category: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int]
    n: Mapped[int]


class FigureWish(Base):
    """What the roll-up counted of a wish: its area, category and the month of each stage."""

    __tablename__ = "figure_wish"
    wish_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    community_id: Mapped[int]
    grid_id: Mapped[int]  # 0: none
    category: Mapped[str] = mapped_column(String(20))
    collected: Mapped[Optional[str]] = mapped_column(String(7))
    published: Mapped[Optional[str]] = mapped_column(String(7))
    claimed: Mapped[Optional[str]] = mapped_column(String(7))
    completed: Mapped[Optional[str]] = mapped_column(String(7))
    confirmed: Mapped[Optional[str]] = mapped_column(String(7))
    # PostgreSQL: the bucket of the hours from publishing to claiming, and from claiming to
    # completing (bot.rollup.duration_bucket), for the medians of all months.
    to_claim: Mapped[Optional[int]]
    to_complete: Mapped[Optional[int]]


class FigureClaim(Base):
    """What the roll-up counted of a claim: its member, the month it was taken (unless given
    up) and the month it was completed."""

    __tablename__ = "figure_claim"
    __table_args__ = (Index("ix_figure_claim_wish_id", "wish_id"),)
    claim_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    wish_id: Mapped[int]
    member_id: Mapped[int]
    taken: Mapped[Optional[str]] = mapped_column(String(7))
    done: Mapped[Optional[str]] = mapped_column(String(7))


class FigureState(Base):
    """One row: when the clock last brought the roll-up up to date, and the last wish it saw."""

    __tablename__ = "figure_state"
    id: Mapped[int] = mapped_column(primary_key=True)
    built_at: Mapped[datetime]
    max_wish_id: Mapped[int]
    rebuilt_at: Mapped[Optional[datetime]]  # the last full rebuild
