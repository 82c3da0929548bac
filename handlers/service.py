"""Service hours in chat: a grid worker's `工时 N 姓名 X`, a member's `我的服务`."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload

from bot.hours import find_hours, parse_hours
from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Claim, InvalidState, Person, Wish, local_time
from models.wish import ACTIVE, COMPLETED, format_hours

from .context import Context
from .service_records import Span, number_text, points_for, service_of

group = CommandGroup()
HOURS_USAGE = "工时 12 李明 2"
RECENT = 5


def split_who_and_hours(text: str) -> tuple[str, float | None]:
    """`李明 2` / `李明 两个半小时` / `李明2小时` -> (`李明`, hours)."""
    hours, who = find_hours(text)
    if hours is None:
        who, _, amount = text.rpartition(" ")
        hours = parse_hours(amount) if who else None
    return who.strip(), hours


def claimer_named(wish: Wish, who: str) -> Person:
    """Among the wish's claimers who have not given it up: by name or phone number."""
    people = {c.member_id: c.member for c in wish.claims if c.status in (ACTIVE, COMPLETED)}
    found = [p for p in people.values() if p.answers_to(who)]
    if not found:
        raise BadInput(f"心愿 {wish.ref} 没有叫「{who}」的认领人（放弃了的不记工时）。")
    if len(found) > 1:
        raise BadInput(f"心愿 {wish.ref} 有{len(found)}位认领人叫「{who}」，请写手机号：工时 {wish.id} 手机号 小时")
    return found[0]


def hours_status(claim: Claim) -> str:
    return "已核实" if claim.hours_verified else "待许愿人确认后核实"


@group.command("工时", roles={"gridworker", "admin"}, usage=f"{HOURS_USAGE} —— 记录李明在12号心愿服务了2小时")
def set_hours(ctx: Context, args: str) -> str:
    token, rest = split_first(args)
    who, hours = split_who_and_hours(rest)
    if not who or hours is None:
        raise BadInput(f"请这样写：{HOURS_USAGE}（12 是心愿编号，2 是小时数）")
    wish = ctx.wish_from(token, HOURS_USAGE, for_update=True)
    ctx.scope.require_staff_of(wish)
    member = claimer_named(wish, who)
    claim = wish.hours_claim(member)
    ctx.change(wish, "hours", lambda: claim.record_hours(hours, ctx.person),
               note=lambda: f"{member.name} {format_hours(claim.hours)}")
    return f"已记录 {member.name} 在心愿 {wish.ref} 的工时：{format_hours(claim.hours)}（{hours_status(claim)}）。"


def report_own_hours(ctx: Context, wish: Wish, hours: float) -> str:
    """`完成 N X小时` again after completing: the member adds or corrects their hours until
    the wish is confirmed."""
    if not any(c.member_id == ctx.person.id and c.status == COMPLETED for c in wish.claims):
        raise InvalidState(f"您没有认领心愿 {wish.ref}。")
    claim = wish.hours_claim(ctx.person)
    ctx.change(wish, "hours", lambda: claim.record_hours(hours, ctx.person),
               note=lambda: f"{ctx.person.name} {format_hours(claim.hours)}")
    return f"已记下您在心愿 {wish.ref} 的工时：{format_hours(claim.hours)}，许愿人确认后核实。"


@group.command("我的服务", roles={"member"}, usage="我的服务 —— 我今年的服务时长、积分和最近的服务",
               read_only=True)
def show_my_service(ctx: Context, args: str) -> str:
    now = local_time(datetime.now(timezone.utc))
    year = Span.year(now.year)
    mine = (select(Claim).where(Claim.member_id == ctx.person.id, Claim.status == COMPLETED,
                                Claim.ended_at >= year.start, Claim.ended_at < year.end))
    counted = mine.subquery()
    verified_hours, reported_hours, wishes = ctx.session.execute(select(
        func.coalesce(func.sum(counted.c.hours).filter(counted.c.hours_verified_at.is_not(None)), 0),
        func.coalesce(func.sum(counted.c.hours).filter(counted.c.hours_verified_at.is_(None)), 0),
        func.count(func.distinct(counted.c.wish_id)),
    )).one()
    recent = ctx.session.scalars(
        select(Claim).where(Claim.member_id == ctx.person.id, Claim.status == COMPLETED)
        .order_by(Claim.ended_at.desc(), Claim.id.desc()).limit(RECENT)
        .options(joinedload(Claim.wish).joinedload(Wish.requester), joinedload(Claim.wish).selectinload(Wish.claims))
    ).all()
    if not recent:
        return "您还没有完成的服务。发「心愿列表」看看可以认领的心愿。"
    points = points_for(verified_hours, ctx.points_per_hour)
    lines = [
        f"{ctx.person.name}，您{now.year}年的服务记录：",
        f"已核实工时 {number_text(verified_hours)} 小时，积分 {number_text(points)} 分",
        f"完成心愿 {wishes} 个",
    ]
    if reported_hours:
        lines.append(f"待核实工时 {number_text(reported_hours)} 小时（许愿人确认后计入积分）")
    lines.append("最近的服务：")
    for claim in recent:
        service = service_of(claim)
        hours = "未填工时" if service.hours is None else f"{service.hours_text}小时"
        lines.append(f"· {service.day:%m-%d} {service.wish_ref} {ctx.wish_text(claim.wish, 12)} {hours}"
                     f" {'已核实' if service.verified else '待核实'}")
    return "\n".join(lines)
