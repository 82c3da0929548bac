"""Adding streets, communities, grids, units and people (the CLI, imports and the dashboard)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BadInput, Community, Grid, Person, Street, Unit, normalise_phone
from models.directory import ROLE_LABELS, ROLES, role_named

NAME_LIMIT, UNIT_LIMIT, ADDRESS_LIMIT, URL_LIMIT = 64, 128, 256, 512  # the columns' sizes


def _text(value: str | None, what: str, limit: int, *, required: bool = True) -> str | None:
    """A stripped value that fits its column, or a BadInput that says why not."""
    value = (value or "").strip()
    if not value:
        if required:
            raise BadInput(f"{what}不能为空")
        return None
    if len(value) > limit:
        raise BadInput(f"{what}太长了（最多{limit}字）")
    if "\x00" in value or not value.isprintable():
        raise BadInput(f"{what}里有不能识别的字符")
    return value


def _required(value: str | None, what: str, limit: int = NAME_LIMIT) -> str:
    return _text(value, what, limit)


def _one(session: Session, query, missing: str):
    row = session.scalar(query)
    if row is None:
        raise BadInput(missing)
    return row


def find_community(session: Session, name: str) -> Community:
    name = _required(name, "社区名称")
    return _one(session, select(Community).where(Community.name == name), f"没有这个社区：{name}")


def find_grid(session: Session, path: str) -> Grid:
    """`社区/网格`"""
    community_name, sep, grid_name = path.partition("/")
    if not sep:
        raise BadInput(f"网格要写成 社区/网格：{path}")
    community = find_community(session, community_name)
    grid_name = _required(grid_name, "网格名称")
    query = select(Grid).where(Grid.community_id == community.id, Grid.name == grid_name)
    return _one(session, query, f"没有这个网格：{path}")


def find_unit(session: Session, name: str) -> Unit:
    name = _required(name, "单位名称", UNIT_LIMIT)
    return _one(session, select(Unit).where(Unit.name == name), f"没有这个共建单位：{name}")


def street_named(session: Session, name: str) -> Street:
    street = session.scalar(select(Street).where(Street.name == name))
    if street is None:
        street = Street(name=name)
        session.add(street)
    return street


def add_community(session: Session, name: str, street: str | None = None,
                  robot_url: str | None = None, review_required: bool = True) -> Community:
    name = _required(name, "社区名称")
    street = _text(street, "街道名称", NAME_LIMIT, required=False)
    robot_url = _text(robot_url, "群机器人地址", URL_LIMIT, required=False)
    if session.scalar(select(Community.id).where(Community.name == name)):
        raise BadInput(f"社区已存在：{name}")
    community = Community(name=name, robot_url=robot_url, review_required=review_required,
                          street=street_named(session, street) if street else None)
    session.add(community)
    session.flush()
    return community


def add_grid(session: Session, community: str, name: str, robot_url: str | None = None) -> Grid:
    owner = find_community(session, community)
    name = _required(name, "网格名称")
    robot_url = _text(robot_url, "群机器人地址", URL_LIMIT, required=False)
    if session.scalar(select(Grid.id).where(Grid.community_id == owner.id, Grid.name == name)):
        raise BadInput(f"网格已存在：{community}/{name}")
    grid = Grid(community=owner, name=name, robot_url=robot_url)
    session.add(grid)
    session.flush()
    return grid


def add_unit(session: Session, name: str) -> Unit:
    name = _required(name, "单位名称", UNIT_LIMIT)
    if session.scalar(select(Unit.id).where(Unit.name == name)):
        raise BadInput(f"共建单位已存在：{name}")
    unit = Unit(name=name)
    session.add(unit)
    session.flush()
    return unit


def add_person(session: Session, openid: str | None, role: str, name: str, *, phone: str | None = None,
               community: str | None = None, grid: str | None = None, unit: str | None = None,
               address: str | None = None, wecom_userid: str | None = None) -> Person:
    """A new person, or a new role for a person already known by that OpenID or WeCom UserID.
    Either identity is enough; given both, they must not belong to two different people."""
    role = role_named(role)
    if role not in ROLES:
        raise BadInput(f"角色只能是 {'、'.join(ROLE_LABELS.values())}（或 {'|'.join(ROLES)}）：{role}")
    name = _required(name, "姓名")
    openid = _text(openid, "OpenID", NAME_LIMIT, required=False)
    wecom_userid = _text(wecom_userid, "企业微信UserID", NAME_LIMIT, required=False)
    address = _text(address, "地址", ADDRESS_LIMIT, required=False)
    phone = normalise_phone(phone)
    grid_row = find_grid(session, grid) if grid else None
    community_row = find_community(session, community) if community else (grid_row.community if grid_row else None)
    if grid_row and community_row and grid_row.community_id != community_row.id:
        raise BadInput(f"网格 {grid} 不属于社区 {community}")
    unit_row = find_unit(session, unit) if unit else None
    person = known_person(session, openid, wecom_userid)
    if person is not None and person.has_role(role):
        raise BadInput(f"此人已登记为 {role}：{openid or wecom_userid}")
    if person is None:
        person = Person(name=name, roles="")
        session.add(person)
    set_identities(session, person, openid, wecom_userid)
    person.add_role(role)
    person.name = name
    person.phone = phone or person.phone
    person.address = address or person.address
    person.community = community_row or person.community
    person.grid = grid_row or person.grid
    if person.grid is not None and person.community is not None and person.grid.community is not person.community:
        person.grid = None  # moved to another community: their grid there is not known yet
    person.unit = unit_row or person.unit
    session.flush()
    return person


def known_person(session: Session, openid: str | None, wecom_userid: str | None) -> Person | None:
    """The one person holding either identity; BadInput when they are two different people."""
    by_openid = session.scalar(select(Person).where(Person.openid == openid)) if openid else None
    by_wecom = session.scalar(select(Person).where(Person.wecom_userid == wecom_userid)) if wecom_userid else None
    if by_openid is not None and by_wecom is not None and by_openid.id != by_wecom.id:
        raise BadInput(f"OpenID {openid} 和企业微信 {wecom_userid} 属于两个不同的人")
    return by_openid or by_wecom


def set_identities(session: Session, person: Person, openid: str | None, wecom_userid: str | None) -> None:
    """Give the person these identities (a blank one keeps what they have); each identity
    belongs to one person only."""
    for column, value, label in ((Person.openid, openid, "OpenID"), (Person.wecom_userid, wecom_userid, "企业微信UserID")):
        value = _text(value, label, NAME_LIMIT, required=False)
        if not value or getattr(person, column.key) == value:
            continue
        holder = session.scalar(select(Person).where(column == value))
        if holder is not None and holder is not person:
            raise BadInput(f"{label} {value} 已经属于{holder.name}")
        setattr(person, column.key, value)
