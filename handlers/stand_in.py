"""Staff acting for a claimer who cannot answer in chat (a member without WeChat, one who
phoned in, one who fell silent): `代完成 N [姓名] [说明] [X小时]` reports their claim done,
`代放弃 N [姓名] [原因]` ends it and reopens the slot. The dashboard's buttons call the same two."""
from __future__ import annotations

from functools import partial

from bot.hours import find_hours
from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Claim, InvalidState, Wish
from models.wish import COMPLETED, RELEASED, format_hours

from . import notices
from .claims import WITH_CLAIMS, completion_note
from .context import Context

group = CommandGroup()
COMPLETE_USAGE = "代完成 12 李建国 已送到 2小时"
CANCEL_USAGE = "代放弃 12 李建国 原因"


def active_claim_named(wish: Wish, who: str, usage: str) -> Claim:
    """The wish's active claim of the member named by name or phone; with nobody named, its only
    active claim. Never a guess: a name that is no active claimer's is refused, with the names."""
    active = wish.active_claims
    if who:
        found = [c for c in active if c.member.answers_to(who)]
        if len(found) == 1:
            return found[0]
        if found:
            raise BadInput(f"心愿 {wish.ref} 有{len(found)}位认领人叫「{who}」，请写手机号。")
        ended = next((c for c in reversed(wish.claims) if c.member.answers_to(who)), None)
        if ended is not None:
            require_active(wish, ended)
    if not active:
        raise InvalidState(f"心愿 {wish.ref} 现在没有进行中的认领（{wish.status_label}）。")
    if not who and len(active) == 1:
        return active[0]
    names = "、".join(c.member.name for c in active)
    example = usage.replace("12", str(wish.id), 1).replace("李建国", active[0].member.name, 1)
    if who:
        raise BadInput(f"心愿 {wish.ref} 没有叫「{who}」的认领人，认领人是：{names}。请这样写：{example}")
    raise BadInput(f"心愿 {wish.ref} 有{len(active)}位认领人：{names}。请写上是谁：{example}")


def require_active(wish: Wish, claim: Claim) -> None:
    """Staff act only on a claim still running: in chat a name may be an ended claimer's, on the
    dashboard a page may have been opened before the member or another login acted."""
    if claim.status == COMPLETED:
        raise InvalidState(f"{claim.member.name}已经报告完成心愿 {wish.ref} 了。")
    if claim.status == RELEASED:
        raise InvalidState(f"{claim.member.name}对心愿 {wish.ref} 的认领已经结束了。")


def complete_for(ctx: Context, wish: Wish, claim: Claim, note: str | None, hours: float | None) -> Claim:
    """Report the claim done on its member's behalf; the hours are the reporter's record (工时)."""
    ctx.scope.require_staff_of(wish)
    require_active(wish, claim)
    member = claim.member
    return ctx.change_claim(wish, "complete_for",
                            lambda: wish.complete_by(member, note, hours, reported_by=ctx.person),
                            partial(notices.claim_completed_for, staff=ctx.person),
                            completion_note(f"代 {member.name} 报告", note, hours=hours))


def cancel_claim(ctx: Context, wish: Wish, claim: Claim, reason: str | None) -> Claim:
    """End the claim for its member (they cannot or will not do it): the slot opens again."""
    ctx.scope.require_staff_of(wish)
    require_active(wish, claim)
    member = claim.member
    timeline = f"取消 {member.name} 的认领" + (f"：{reason}" if reason else "")
    return ctx.change_claim(wish, "cancel_claim", lambda: wish.release(member),
                            partial(notices.claim_cancelled, staff=ctx.person, reason=reason), timeline)


def _claim_in(ctx: Context, token: str, rest: str, usage: str) -> tuple[Wish, Claim, str]:
    """The wish `token` numbers, the claim `rest` names first (or its only one), and the words after."""
    wish = ctx.wish_from(token, usage, for_update=True, load=WITH_CLAIMS)
    ctx.scope.require_staff_of(wish)
    who, _, after = rest.strip().partition(" ")  # a name is no number: `三毛` stays whole
    return wish, active_claim_named(wish, who, usage), after.strip()


@group.command("代完成", roles={"gridworker", "admin"},
               usage=f"{COMPLETE_USAGE} —— 志愿者没法回复时，替TA报告完成（姓名、说明、时长可不写）")
def report_completion_for(ctx: Context, args: str) -> str:
    token, rest = split_first(args)
    hours, rest = find_hours(rest)
    wish, claim, note = _claim_in(ctx, token, rest, COMPLETE_USAGE)
    complete_for(ctx, wish, claim, note or None, hours)
    hours_text = f"，工时 {format_hours(claim.hours)}" if hours is not None else ""
    asked = "，已请许愿人确认" if wish.status == COMPLETED else ""
    return f"已替 {claim.member.name} 报告心愿 {wish.ref} 完成{hours_text}{asked}。"


@group.command("代放弃", roles={"gridworker", "admin"},
               usage=f"{CANCEL_USAGE} —— 志愿者做不了时，替TA放弃认领，心愿重新开放")
def cancel_claim_for(ctx: Context, args: str) -> str:
    wish, claim, reason = _claim_in(ctx, *split_first(args), CANCEL_USAGE)
    cancel_claim(ctx, wish, claim, reason or None)
    return f"已取消 {claim.member.name} 对心愿 {wish.ref} 的认领，心愿重新开放认领。"
