"""A grid worker's review: publish or reject a wish (from chat, or the dashboard)."""
from __future__ import annotations

import re

from bot.numbers import CHINESE_NUMERALS, chinese_or_arabic
from bot.router import CommandGroup
from bot.text import split_first, without_leading_punctuation
from models import BadInput, Wish

from . import notices
from .context import Context
from .registration import approve_registration, registration_from, reject_registration

group = CommandGroup()
USAGE = "审核 12 通过，或 审核 12 驳回 原因"
_SLOTS = re.compile(rf"^(\d{{1,3}}|[{CHINESE_NUMERALS}]{{1,4}})\s*(?:人|个人|份)?$")


def publish_wish(ctx: Context, wish: Wish, slots: int = 1) -> None:
    ctx.scope.require_staff_of(wish)
    ctx.change(wish, "publish", lambda: wish.publish(ctx.person, slots), notices.wish_published,
               f"{slots}人" if slots > 1 else None)


def reject_wish(ctx: Context, wish: Wish, reason: str) -> None:
    ctx.scope.require_staff_of(wish)
    reason = reason.strip()
    if not reason:
        raise BadInput(f"请写上驳回原因，比如：审核 {wish.id} 驳回 内容不清楚")
    ctx.change(wish, "reject", lambda: wish.reject(ctx.person, reason), notices.wish_rejected, reason)


def parse_slots(detail: str, wish: Wish) -> int:
    if not detail:
        return 1
    match = _SLOTS.match(detail.strip())
    slots = chinese_or_arabic(match.group(1)) if match else None  # 3人, 三人, 两人
    if slots is None:
        raise BadInput(f"人数写法不对，比如：审核 {wish.id} 通过 3人")
    return slots


@group.command("审核", roles={"gridworker", "admin"},
               usage="审核 12 通过 —— 发布12号心愿（3人认领写：审核 12 通过 3人；驳回写：审核 12 驳回 原因；报到申请：审核 R5 通过）")
def review_wish(ctx: Context, args: str) -> str:
    token, rest = split_first(args)
    decision, _, detail = rest.partition(" ")
    for word in ("通过", "驳回"):
        if decision.startswith(word) and not detail:
            decision, detail = word, decision[len(word):].strip()
    if decision not in ("通过", "驳回"):
        raise BadInput(f"请这样写：{USAGE}")
    detail = without_leading_punctuation(detail)
    if token[:1] in ("R", "r"):
        return review_registration(ctx, token, decision, detail)
    wish = ctx.wish_from(token, USAGE, for_update=True)
    if decision == "通过":
        publish_wish(ctx, wish, parse_slots(detail, wish))
        return f"心愿 {wish.ref} 已发布到志愿者群。"
    reject_wish(ctx, wish, detail)
    return f"心愿 {wish.ref} 已驳回，已告知许愿人。"


def review_registration(ctx: Context, token: str, decision: str, reason: str) -> str:
    registration = registration_from(ctx, token)
    if decision == "通过":
        approve_registration(ctx, registration)
        return f"报到申请 {registration.ref} 已通过，{registration.name} 成为志愿者，已通知本人。"
    reject_registration(ctx, registration, reason)
    return f"报到申请 {registration.ref} 已驳回，已通知本人。"
