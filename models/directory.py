"""Who is who: streets, communities, grids, partner units and people."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from dataclasses import dataclass
from typing import Optional

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .errors import BadInput

CHANNELS = ("wechat", "wecom")  # the Official Account (openid) and the WeCom application (userid)
# Customer-service messages (WeChat's rules): a user's message opens 5 sends within 48 hours;
# following, scanning a code or clicking a menu button opens 3 within a minute.
MESSAGE_WINDOW, MESSAGE_SENDS = timedelta(hours=48), 5
EVENT_WINDOW, EVENT_SENDS = timedelta(minutes=1), 3
# The window a message opens is recorded only when the one on record is this much older (or its
# sends were used), so the end we keep is early, never late: a read-only message is then answered
# without a write, and a message that writes spares its sender's row an UPDATE.
WINDOW_REFRESH = timedelta(hours=1)
HEARING_RESOLUTION = timedelta(seconds=1)  # a note_heard job carries whole seconds

ROLES = ("resident", "member", "gridworker", "admin")
ROLE_LABELS = {"resident": "居民", "member": "志愿者", "gridworker": "网格员", "admin": "管理员"}
# What people write in a roster for a role, besides the role itself and its label.
_ROLE_WORDS = {**{label: role for role, label in ROLE_LABELS.items()},
               "党员": "member", "在职党员": "member", "志愿者/党员": "member", "社区管理员": "admin"}


def role_named(text: str) -> str:
    """`member`, `志愿者`, `党员` -> `member`; an unknown word comes back as it is (and is refused
    where roles are checked)."""
    text = (text or "").strip()
    return _ROLE_WORDS.get(text) or text.lower()
STAFF_ROLES = frozenset({"gridworker", "admin"})
PHONE = re.compile(r"^1\d{10}$")


def normalise_phone(phone: str | None) -> str | None:
    """A mainland mobile number (11 digits starting with 1), or a BadInput."""
    if not phone:
        return None
    digits = re.sub(r"[\s-]", "", phone)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not PHONE.match(digits):
        raise BadInput(f"手机号格式不对：{phone}")
    return digits


class Street(Base):
    __tablename__ = "street"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    communities: Mapped[list["Community"]] = relationship(back_populates="street")


class Community(Base):
    __tablename__ = "community"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    street_id: Mapped[Optional[int]] = mapped_column(ForeignKey("street.id"))
    robot_url: Mapped[Optional[str]] = mapped_column(String(512))
    review_required: Mapped[bool] = mapped_column(default=True)

    street: Mapped[Optional[Street]] = relationship(back_populates="communities")
    grids: Mapped[list["Grid"]] = relationship(back_populates="community")


class Grid(Base):
    __tablename__ = "grid"
    __table_args__ = (UniqueConstraint("community_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    community_id: Mapped[int] = mapped_column(ForeignKey("community.id"))
    name: Mapped[str] = mapped_column(String(64))
    robot_url: Mapped[Optional[str]] = mapped_column(String(512))

    community: Mapped[Community] = relationship(back_populates="grids")

    @property
    def label(self) -> str:
        return f"{self.community.name}/{self.name}"


class Unit(Base):
    """A partner organisation (共建单位)."""

    __tablename__ = "unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)


class PersonFacts:
    """What a person is, read from plain attributes (id, name, roles, window_until, ...): the rules
    the mapped Person and the read path's Sender (a plain row) share, written once."""

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    @property
    def is_staff(self) -> bool:
        return self.has_role(*STAFF_ROLES)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)

    def needs_hearing(self, channel: str, now: datetime, *, message: bool, event: str = "") -> bool:
        """Whether Person.heard_from would change what matters (see WINDOW_REFRESH)."""
        if self.last_channel != channel:
            return True
        if channel != "wechat":
            return False
        if event == "unsubscribe":
            return True
        if message:
            # A later message is on record already (this one's job ran late); a job's time is in
            # whole seconds, so within the second it is not later.
            if self.window_until is not None and self._window_end() > now + MESSAGE_WINDOW + HEARING_RESOLUTION:
                return False
            return (not self.window_open(now) or self.window_sends < MESSAGE_SENDS
                    or self._window_end() < now + MESSAGE_WINDOW - WINDOW_REFRESH)
        return event in ("subscribe", "scan", "click") and not self.window_open(now)

    def _window_end(self) -> datetime:
        until = self.window_until
        return until if until.tzinfo else until.replace(tzinfo=timezone.utc)

    def window_open(self, now: datetime) -> bool | None:
        """Whether a customer-service message may reach them now; None when they have never
        written since this was recorded (then WeChat's answer tells)."""
        if self.window_until is None:
            return None
        return self._window_end() > now and self.window_sends > 0


@dataclass(frozen=True, slots=True)
class Sender(PersonFacts):
    """A person as a read-only chat answer needs them, from one plain row: what they are and
    where, without the mapped object's cost (composition/conversation.py)."""

    id: int
    name: str
    roles: str
    community_id: int | None
    grid_id: int | None
    unit_id: int | None
    last_channel: str | None
    window_until: datetime | None
    window_sends: int
    grid_community_id: int | None  # see Person.grid_community_id


class Person(PersonFacts, Timestamped, Base):
    """Anyone the bot knows. A person may hold several roles ("resident,member")."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[Optional[str]] = mapped_column(String(64), unique=True)  # Official Account
    wecom_userid: Mapped[Optional[str]] = mapped_column(String(64), unique=True)  # WeCom member
    last_channel: Mapped[Optional[str]] = mapped_column(String(16))  # the channel they last wrote on
    # The Official Account's customer-service window: sends left until when (None: never seen).
    window_until: Mapped[Optional[datetime]]
    window_sends: Mapped[int] = mapped_column(default=0, server_default="0")
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[Optional[str]] = mapped_column(String(20))
    address: Mapped[Optional[str]] = mapped_column(String(256))
    roles: Mapped[str] = mapped_column(String(64), default="resident")
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("community.id"), index=True)
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grid.id"), index=True)
    unit_id: Mapped[Optional[int]] = mapped_column(ForeignKey("unit.id"))

    community: Mapped[Optional[Community]] = relationship()
    grid: Mapped[Optional[Grid]] = relationship()
    unit: Mapped[Optional[Unit]] = relationship()

    def answers_to(self, who: str) -> bool:
        """Whether `who`, as staff write it, names them: their name, or their phone number in any
        form normalise_phone reads (`139 0000 0001`, `+8613900000001`)."""
        if who == self.name:
            return True
        try:
            return self.phone is not None and normalise_phone(who) == self.phone
        except BadInput:
            return False

    def add_role(self, role: str) -> None:
        if role not in ROLES:
            raise BadInput(f"没有这个角色：{role}")
        self.roles = ",".join(sorted(self.role_set | {role}))

    @property
    def grid_community_id(self) -> int | None:
        """The community of their grid; their own when they have no grid."""
        return self.grid.community_id if self.grid is not None else self.community_id

    # --- how to reach them ----------------------------------------------------------------

    def identity(self, channel: str) -> str | None:
        return self.openid if channel == "wechat" else self.wecom_userid if channel == "wecom" else None

    @property
    def reachable(self) -> bool:
        return bool(self.openid or self.wecom_userid)

    def channels_to_try(self) -> list[str]:
        """Their channels, the one they last wrote on first."""
        have = [c for c in CHANNELS if self.identity(c)]
        return sorted(have, key=lambda c: c != self.last_channel)

    def heard_from(self, channel: str, now: datetime, *, message: bool, event: str = "") -> None:
        """Record an inbound message (or a subscribe/scan/click event) on `channel`, when that
        changes what matters (needs_hearing)."""
        if not self.needs_hearing(channel, now, message=message, event=event):
            return
        if self.last_channel != channel:
            self.last_channel = channel
        if channel != "wechat":
            return
        if event == "unsubscribe":
            self.window_closed(now)
        elif message:
            self.window_until, self.window_sends = now + MESSAGE_WINDOW, MESSAGE_SENDS
        elif event in ("subscribe", "scan", "click") and not self.window_open(now):
            self.window_until, self.window_sends = now + EVENT_WINDOW, EVENT_SENDS

    def window_closed(self, now: datetime) -> None:
        self.window_until, self.window_sends = now, 0

    def used_a_send(self) -> None:
        if self.window_until is not None and self.window_sends > 0:
            self.window_sends -= 1


def mask_name(name: str) -> str:
    """张三丰 -> 张**: the family name only, for anything a group can read."""
    if not name:
        return "**"
    return name[0] + "**"
