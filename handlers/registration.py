"""Volunteer registration (双报到): `报到`, and the grid worker's `审核 R12 通过|驳回`."""
from __future__ import annotations

from sqlalchemy import select

from bot.router import CommandGroup
from bot.text import parse_number
from models import (
    BadInput,
    Community,
    InvalidState,
    NotAllowed,
    NotFound,
    Registration,
    Unit,
    normalise_phone,
)
from models.workflow import REGISTRATION_PENDING

from . import notices
from .context import Context

group = CommandGroup()
USAGE = "报到 张明 市税务局 13912345678"
ASK_DETAILS = f"请这样写：{USAGE}（姓名 单位 手机号）"
MAX_NAME = 64
MAX_UNIT = 128


# --- services the dashboard calls too ---------------------------------------------------------


def register_member(ctx: Context, name: str, unit_name: str, phone: str,
                    community: Community | None) -> Registration:
    """A numbered request; without a community it waits for `choose_community`."""
    if not name or len(name) > MAX_NAME or not unit_name or len(unit_name) > MAX_UNIT:
        raise BadInput(ASK_DETAILS)
    phone = normalise_phone(phone)
    person = ctx.person
    if community is not None and person.has_role("member") and person.community_id == community.id:
        raise InvalidState(f"您已经是{community.name}的志愿者了，不用再报到。")
    registration = pending_registration(ctx)
    if registration is not None and registration.community_id is not None:
        raise InvalidState(f"您的报到申请 {registration.ref} 还在审核中，请耐心等待。")
    if registration is None:  # else: the details of a request still waiting for its community
        registration = Registration(person=person)
        ctx.session.add(registration)
    registration.name, registration.unit_name, registration.phone = name, unit_name, phone
    registration.unit = ctx.session.scalar(select(Unit).where(Unit.name == unit_name))
    ctx.session.flush()
    if community is not None:
        choose_community(ctx, registration, community)
    return registration


def choose_community(ctx: Context, registration: Registration, community: Community) -> None:
    registration.community = community
    ctx.session.flush()
    ctx.notify(notices.registration_submitted(ctx.session, registration))


def approve_registration(ctx: Context, registration: Registration) -> None:
    """The person becomes a member of the community (keeping any other role) with the unit."""
    _may_decide(ctx, registration)
    registration.approve(ctx.person, registration.unit or _unit_named(ctx, registration.unit_name))
    ctx.notify(notices.registration_approved(ctx.session, registration))


def reject_registration(ctx: Context, registration: Registration, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise BadInput(f"请写上驳回原因，比如：审核 {registration.ref} 驳回 信息不全")
    _may_decide(ctx, registration)
    registration.reject(ctx.person, reason)
    ctx.notify(notices.registration_rejected(ctx.session, registration))


def pending_registration(ctx: Context) -> Registration | None:
    return ctx.session.scalar(select(Registration).where(
        Registration.person_id == ctx.person.id, Registration.status == REGISTRATION_PENDING))


def registration_from(ctx: Context, token: str) -> Registration:
    """`R12` (any case, full-width folded already) -> the registration, for update."""
    number = parse_number(token[1:]) if token[:1] in ("R", "r") else None
    if number is None:
        raise BadInput("报到申请的编号像这样：R12")
    registration = ctx.session.scalar(
        select(Registration).where(Registration.id == number).with_for_update())
    if registration is None:
        raise NotFound(f"没有找到报到申请 R{number}。")
    return registration


def _may_decide(ctx: Context, registration: Registration) -> None:
    if registration.community_id is None or not ctx.scope.covers_community(registration.community_id):
        raise NotAllowed(f"报到申请 {registration.ref} 不在您负责的社区。")


def _unit_named(ctx: Context, name: str) -> Unit:
    unit = ctx.session.scalar(select(Unit).where(Unit.name == name))
    if unit is None:
        unit = Unit(name=name)
        ctx.session.add(unit)
    return unit


def communities(ctx: Context) -> list[Community]:
    return list(ctx.session.scalars(select(Community).order_by(Community.id)))


def community_named(ctx: Context, name: str) -> Community | None:
    return ctx.session.scalar(select(Community).where(Community.name == name.strip()))


# --- chat --------------------------------------------------------------------------------------


def _ask_community(ctx: Context, registration: Registration) -> str:
    names = "、".join(c.name for c in communities(ctx))
    return (f"您的报到申请 {registration.ref} 已记下。请问到哪个社区报到？"
            f"请回复社区名称（{names}），比如：报到 {communities(ctx)[0].name}")


def _submitted(registration: Registration) -> str:
    return f"收到您的报到申请 {registration.ref}（{registration.community.name}），审核通过后会通知您。"


def answer_community(ctx: Context, text: str) -> str | None:
    """A bare community name answers our question about a registration; else None."""
    pending = pending_registration(ctx)
    if pending is None or pending.community_id is not None:
        return None
    community = community_named(ctx, text)
    if community is None:
        return None
    choose_community(ctx, pending, community)
    return _submitted(pending)


@group.command("报到", "报道", usage=f"{USAGE} —— 在职党员到社区报到（双报到），可在最后加社区名")
def register(ctx: Context, args: str) -> str:
    words = args.split()
    if len(words) == 1:
        pending = pending_registration(ctx)
        if pending is not None and pending.community_id is None:
            return answer_community(ctx, words[0]) or _ask_community(ctx, pending)
        return ASK_DETAILS
    if len(words) not in (3, 4):
        return ASK_DETAILS
    name, unit_name, phone, *rest = words
    community = None
    if rest:
        community = community_named(ctx, rest[0])
        if community is None:
            names = "、".join(c.name for c in communities(ctx))
            raise BadInput(f"没有「{rest[0]}」这个社区。可选：{names}")
    elif ctx.person.community is not None:  # where they live, or the community whose QR code they scanned
        community = ctx.person.community
    else:
        known = communities(ctx)
        if len(known) == 1:
            community = known[0]
        elif not known:
            raise InvalidState("还没有登记任何社区，请联系社区工作人员。")
    registration = register_member(ctx, name, unit_name, phone, community)
    if registration.community is None:
        return _ask_community(ctx, registration)
    return _submitted(registration)
