"""Who is who: streets, communities, grids, partner units and people."""
from __future__ import annotations

import re
from typing import Optional

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped
from .errors import BadInput

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


class Person(Timestamped, Base):
    """Anyone the bot knows. A person may hold several roles ("resident,member")."""

    __tablename__ = "person"
    id: Mapped[int] = mapped_column(primary_key=True)
    openid: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
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

    @property
    def role_set(self) -> frozenset[str]:
        return frozenset(r for r in self.roles.split(",") if r)

    def has_role(self, *roles: str) -> bool:
        return bool(self.role_set.intersection(roles))

    def add_role(self, role: str) -> None:
        if role not in ROLES:
            raise BadInput(f"没有这个角色：{role}")
        self.roles = ",".join(sorted(self.role_set | {role}))

    @property
    def is_staff(self) -> bool:
        return self.has_role(*STAFF_ROLES)

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


def mask_name(name: str) -> str:
    """张三丰 -> 张**: the family name only, for anything a group can read."""
    if not name:
        return "**"
    return name[0] + "**"
