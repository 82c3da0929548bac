"""The declarative base and small column helpers shared by every model."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


DEFAULT_ZONE = "Asia/Shanghai"
_zone = [ZoneInfo(DEFAULT_ZONE)]  # what people read: months, days and times of day


def use_local_zone(name: str) -> None:
    """Set by the composition root from Settings.timezone."""
    _zone[0] = ZoneInfo(name)


def local_zone() -> ZoneInfo:
    return _zone[0]


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def local_time(moment: datetime | None) -> datetime | None:
    """The moment in local time. SQLite hands back naive datetimes, which are UTC."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(local_zone())


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
