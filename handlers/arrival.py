"""Arriving through a printed QR code (`wishbot qr`): the code's scene names a place (a community,
perhaps a grid) and a role. A `subscribe` with `qrscene_<scene>`, or a `SCAN` from a follower,
places the person there, so a newcomer's first wish needs no questions; a member's code starts
报到 in that community."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select

from models import BadInput, Community, Grid

from .context import Context
from .help import WELCOME
from .registration import USAGE as REGISTRATION_USAGE

RESIDENT, MEMBER = "resident", "member"
_ROLE_CODES = {RESIDENT: "r", MEMBER: "m"}
_SCENE = re.compile(r"^(?P<role>[rm]):(?P<community>\d{1,9})(?:/(?P<grid>\d{1,9}))?$")
SUBSCRIBE_PREFIX = "qrscene_"


@dataclass(frozen=True)
class Place:
    community: Community
    grid: Grid | None
    role: str

    @property
    def scene(self) -> str:
        """At most 64 characters, as QR_LIMIT_STR_SCENE allows: `r:3/5`, `m:3`."""
        grid = f"/{self.grid.id}" if self.grid else ""
        return f"{_ROLE_CODES[self.role]}:{self.community.id}{grid}"

    @property
    def label(self) -> str:
        return f"{self.community.name}{self.grid.name if self.grid else ''}"


def place_named(session, where: str, role: str) -> Place:
    """`新城社区` or `新城社区/第一网格` -> a Place, or a BadInput naming what is unknown."""
    community_name, _, grid_name = where.partition("/")
    community = session.scalar(select(Community).where(Community.name == community_name.strip()))
    if community is None:
        raise BadInput(f"没有这个社区：{community_name}")
    grid = None
    if grid_name:
        grid = session.scalar(select(Grid).where(Grid.community_id == community.id, Grid.name == grid_name.strip()))
        if grid is None:
            raise BadInput(f"{community.name}没有这个网格：{grid_name}")
    if role not in _ROLE_CODES:
        raise BadInput(f"没有这个角色：{role}")
    return Place(community, grid, role)


def place_of_scene(session, event_key: str) -> Place | None:
    match = _SCENE.match(event_key.removeprefix(SUBSCRIBE_PREFIX))
    if match is None:
        return None
    community = session.get(Community, int(match.group("community")))
    grid = session.get(Grid, int(match.group("grid"))) if match.group("grid") else None
    if community is None or (grid is not None and grid.community_id != community.id):
        return None
    role = RESIDENT if match.group("role") == "r" else MEMBER
    return Place(community, grid, role)


def arrive(ctx: Context, event_key: str, *, subscribed: bool) -> str | None:
    """The reply to a follow or a scan; a follow without a known scene gets the welcome."""
    place = place_of_scene(ctx.session, event_key) if event_key else None
    if place is None:
        return WELCOME if subscribed else None
    person = ctx.person
    if person.community is None:
        person.community, person.grid = place.community, place.grid
    elif person.community_id == place.community.id and person.grid is None and place.grid is not None:
        person.grid = place.grid
    ctx.session.flush()
    if place.role == MEMBER:
        if person.has_role("member") and person.community_id == place.community.id:
            return f"您已经是{place.community.name}的志愿者了。发「心愿列表」看看可以认领的心愿。"
        community = "" if person.community_id == place.community.id else f" {place.community.name}"
        return (f"欢迎来{place.community.name}报到（双报到）！请发：{REGISTRATION_USAGE}{community}"
                f"（姓名 单位 手机号），审核通过后就可以认领心愿了。")
    if person.community_id != place.community.id:
        return f"欢迎！您已登记在{person.community.name}，有困难直接告诉我您需要什么。"
    where = f"{person.community.name}{person.grid.name if person.grid else ''}"
    return (f"欢迎来到微心愿助手！您已登记在{where}。"
            f"有困难直接告诉我您需要什么，比如：家里灯泡坏了，想请人来换一下。")
