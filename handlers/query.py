"""`查询 N`: one wish, showing each role what it may see."""
from __future__ import annotations

from sqlalchemy import select

from bot.router import CommandGroup
from bot.text import split_first
from models import WishEvent

from .context import Context
from .permissions import is_staff_of, may_see_contact

group = CommandGroup()


@group.command("查询", usage="查询 N —— 查看一个心愿")
def show_wish(ctx: Context, args: str) -> str:
    token, _ = split_first(args)
    wish = ctx.wish_from(token, "查询 N")
    where = wish.grid.label if wish.grid else wish.community.name
    lines = [f"心愿 {wish.ref}（{wish.status_label}）", wish.content, f"社区网格：{where}"]
    requester = wish.requester
    if may_see_contact(ctx.person, wish):
        lines.append("许愿人：" + "，".join(filter(None, [requester.name, requester.phone, requester.address])))
    else:
        lines.append(f"许愿人：{requester.masked_name}")
    if wish.slots > 1:
        lines.append(f"人数：{wish.taken_slots}/{wish.slots}")
    claimers = [f"{c.member.name}（{c.status_label}）" for c in wish.claims if c.status != "released"]
    if claimers:
        lines.append("认领：" + "、".join(claimers))
    if is_staff_of(ctx.person, wish):
        events = ctx.session.scalars(
            select(WishEvent).where(WishEvent.wish_id == wish.id).order_by(WishEvent.id)
        ).all()
        for event in events:
            who = event.actor.name if event.actor else "系统"
            lines.append(f"· {event.created_at:%m-%d %H:%M} {who} {event.action}"
                         + (f"：{event.note}" if event.note else ""))
    return "\n".join(lines)
