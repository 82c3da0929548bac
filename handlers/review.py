"""A grid worker's review: publish or reject a wish."""
from __future__ import annotations

import re

from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput

from . import notices
from .context import Context
from .permissions import require_staff_of

group = CommandGroup()
USAGE = "审核 N 通过 [K人] 或 审核 N 驳回 原因"
_SLOTS = re.compile(r"^(\d{1,3})\s*(?:人|个人|份)?$")


@group.command("审核", roles={"gridworker", "admin"}, usage=f"{USAGE} —— 审核心愿")
def review_wish(ctx: Context, args: str) -> str:
    token, rest = split_first(args)
    decision, _, detail = rest.partition(" ")
    if decision.startswith("通过") and not detail:
        decision, detail = "通过", decision[2:].strip()
    elif decision.startswith("驳回") and not detail:
        decision, detail = "驳回", decision[2:].strip()
    if decision not in ("通过", "驳回"):
        raise BadInput(f"请这样写：{USAGE}")
    wish = ctx.wish_from(token, USAGE, for_update=True)
    require_staff_of(ctx.person, wish)
    before = wish.status
    if decision == "通过":
        slots = 1
        if detail:
            match = _SLOTS.match(detail.strip())
            if not match:
                raise BadInput(f"人数写法不对，比如：审核 {wish.id} 通过 3人")
            slots = int(match.group(1))
        wish.publish(ctx.person, slots)
        ctx.log(wish, "publish", before, f"{slots}人" if slots > 1 else None)
        ctx.notify(notices.wish_published(ctx.session, wish))
        return f"心愿 {wish.ref} 已发布到志愿者群。"
    reason = detail.strip()
    if not reason:
        raise BadInput(f"请写上驳回原因，比如：审核 {wish.id} 驳回 内容不清楚")
    wish.reject(ctx.person, reason)
    ctx.log(wish, "reject", before, reason)
    ctx.notify(notices.wish_rejected(ctx.session, wish))
    return f"心愿 {wish.ref} 已驳回，已告知许愿人。"
