"""`查询 N`: one wish, showing each role what it may see.

Everyone sees a published wish with the requester's name masked. The requester, staff of the
wish's grid and its active claimers also see the contact details; staff see the timeline.
A wish not yet published is shown only to its requester and staff.
"""
from __future__ import annotations

from sqlalchemy.orm import joinedload, selectinload

from bot.router import CommandGroup
from bot.text import split_first
from models import Claim, Grid, Wish
from models.wish import PENDING_REVIEW, REJECTED, RELEASED, WITHDRAWN

from .categories import describe
from .context import Context
from .permissions import is_staff_of, may_see_contact
from .timeline import event_line, events_of

group = CommandGroup()
_UNPUBLISHED = (PENDING_REVIEW, REJECTED, WITHDRAWN)
# What the answer reads of a wish, loaded with it rather than one query each.
_SHOWN = (joinedload(Wish.grid).joinedload(Grid.community), joinedload(Wish.community),
          joinedload(Wish.requester), selectinload(Wish.claims).joinedload(Claim.member))


def requester_line(ctx: Context, wish: Wish) -> str:
    requester = wish.requester
    if not may_see_contact(ctx.person, wish):
        return f"许愿人：{requester.masked_name}"
    line = "许愿人：" + "，".join(filter(None, [requester.name, requester.phone, requester.address]))
    if wish.recorded_by is not None:
        line += f"（网格员{wish.recorded_by.name}代许愿）"
    return line


@group.command("查询", usage="查询 N —— 查看一个心愿", read_only=True)
def show_wish(ctx: Context, args: str) -> str:
    token, _ = split_first(args)
    wish = ctx.wish_from(token, "查询 N", load=_SHOWN)
    staff = is_staff_of(ctx.person, wish)
    if wish.status in _UNPUBLISHED and not staff and ctx.person.id != wish.requester_id:
        return f"心愿 {wish.ref} 还没有发布，暂时不能查看。"
    where = wish.grid.label if wish.grid else wish.community.name
    lines = [f"心愿 {wish.ref}（{wish.status_label}）", wish.content, f"类别：{describe(wish)}",
             f"社区网格：{where}", requester_line(ctx, wish)]
    if wish.slots > 1:
        lines.append(f"人数：{wish.taken_slots}/{wish.slots}")
    claimers = [f"{c.member.name}（{c.status_label}）" for c in wish.claims if c.status != RELEASED]
    if claimers:
        lines.append("认领：" + "、".join(claimers))
    if wish.confirmed_at and (staff or ctx.person.id == wish.requester_id):
        rating = f"，{wish.rating}分" if wish.rating else ""
        lines.append(f"评价：{wish.feedback or '无'}{rating}")
    if staff:
        lines.extend(event_line(event) for event in events_of(ctx.session, wish))
    return "\n".join(lines)
