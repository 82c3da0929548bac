"""A grid worker's `派单 N 姓名`: an active claim on a member's behalf."""
from __future__ import annotations

from sqlalchemy import Select, select

from bot.router import CommandGroup
from bot.text import split_first
from models import (
    AlreadyTaken,
    BadInput,
    Claim,
    InvalidState,
    NotFound,
    Person,
    Wish,
    normalise_phone,
)
from models.wish import CLAIMED, COMPLETED, PENDING_REVIEW, PUBLISHED

from . import notices
from .context import Context

group = CommandGroup()
USAGE = "派单 12 李建国"


def assign_wish(ctx: Context, wish: Wish, member: Person) -> Claim:
    """Take one slot of the wish for the member; they are told privately and may `放弃` it.
    Callers load the wish FOR UPDATE, as for a claim."""
    ctx.scope.require_staff_of(wish)
    if not member.has_role("member"):
        raise BadInput(f"{member.name}还不是志愿者，不能派单。")
    if wish.claim_of(member):
        raise InvalidState(f"{member.name}已经认领了心愿 {wish.ref}。")
    if wish.claim_of(member, COMPLETED):
        raise InvalidState(f"{member.name}已经完成了心愿 {wish.ref}，不能再派给TA。")
    # The dispatcher's words where Wish.claim_by's are a claiming member's.
    if wish.status == CLAIMED or (wish.status == PUBLISHED and not wish.open_slots):
        taken = "、".join(claim.member.name for claim in wish.active_claims)
        raise AlreadyTaken(f"心愿 {wish.ref} 的名额已满（{taken}已认领），不能再派单。")
    if wish.status == PENDING_REVIEW:
        raise InvalidState(f"心愿 {wish.ref} 还没有审核发布，发布后才能派单：审核 {wish.id} 通过")
    return ctx.change_claim(wish, "assign", lambda: wish.claim_by(member, assigned_by=ctx.person),
                            notices.wish_claimed, f"派给 {member.name}")


def members_for(wish: Wish) -> Select:
    """Whom a wish may be assigned to, in chat and on the dashboard: the members registered with
    its community (双报到). Its requester's contact details go to whoever takes it."""
    return (select(Person)
            .where(Person.roles.contains("member"), Person.community_id == wish.community_id)
            .order_by(Person.name, Person.id))


def find_member(ctx: Context, wish: Wish, who: str) -> Person:
    """One of `members_for(wish)`, by phone number or by name."""
    who = who.strip()
    query = members_for(wish)
    if who[:1].isdigit() or who.startswith("+"):
        query = query.where(Person.phone == normalise_phone(who))
    else:
        query = query.where(Person.name == who)
    candidates = list(ctx.session.scalars(query))
    if not candidates:
        raise NotFound(f"没有找到志愿者「{who}」。请确认姓名，或者写手机号：派单 {wish.id} 手机号")
    if len(candidates) > 1:
        raise BadInput(f"有{len(candidates)}位志愿者叫「{who}」，请写手机号：派单 {wish.id} 手机号")
    return candidates[0]


@group.command("派单", roles={"gridworker", "admin"}, usage=f"{USAGE} —— 把12号心愿派给志愿者李建国（也可写手机号）")
def dispatch_wish(ctx: Context, args: str) -> str:
    token, who = split_first(args)
    if not who:
        raise BadInput(f"请这样写：{USAGE}（12 是心愿编号）")
    wish = ctx.wish_from(token, USAGE, for_update=True)
    ctx.scope.require_staff_of(wish)
    member = find_member(ctx, wish, who)
    assign_wish(ctx, wish, member)
    remaining = f"，还差{wish.open_slots}人" if wish.open_slots else ""
    told = "已私信通知本人" if member.reachable else "TA没有绑定微信，请电话通知"
    return f"心愿 {wish.ref} 已派给 {member.name}，{told}{remaining}。"
