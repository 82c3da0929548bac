"""A member's claims: browse, claim, release, complete."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from bot.hours import find_hours
from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Claim, Wish
from models.wish import ACTIVE, PUBLISHED, format_hours

from . import notices
from .categories import CATEGORIES, OTHER
from .context import Context
from .service import report_own_hours

group = CommandGroup()
LIST_LIMIT = 10


@group.command("心愿列表", roles={"member"}, usage="心愿列表 —— 看看可以认领的心愿", read_only=True)
def list_open_wishes(ctx: Context, args: str) -> str:
    query = (select(Wish).where(Wish.status == PUBLISHED).order_by(Wish.urgency.desc(), Wish.id)
             .options(joinedload(Wish.requester)))
    if ctx.person.community_id:
        query = query.where(Wish.community_id == ctx.person.community_id)
    category = args.strip()
    if category:
        if category not in CATEGORIES:
            raise BadInput(f"没有这个类别。可选：{'、'.join(CATEGORIES)}")
        query = query.where(Wish.category == category)
    wishes = ctx.session.scalars(query.limit(LIST_LIMIT)).all()
    if not wishes:
        return "现在没有待认领的心愿，谢谢关心！"
    lines = [f"{w.ref}【{w.category or OTHER}】{w.content[:24]}（{w.requester.masked_name}）" for w in wishes]
    return "待认领的心愿：\n" + "\n".join(lines) + "\n回复「认领 编号」认领。"


@group.command("认领", roles={"member"}, usage="认领 N —— 认领心愿")
def claim_wish(ctx: Context, args: str) -> str:
    token, _ = split_first(args)
    wish = ctx.wish_from(token, "认领 N", for_update=True)
    ctx.change_claim(wish, "claim", lambda: wish.claim_by(ctx.person), notices.wish_claimed)
    return f"认领成功！心愿 {wish.ref}：{wish.content[:30]}\n许愿人的联系方式已私信发给您。完成后回复「完成 {wish.id}」。"


@group.command("放弃", roles={"member"}, usage="放弃 N —— 放弃认领")
def release_claim(ctx: Context, args: str) -> str:
    token, _ = split_first(args)
    wish = ctx.wish_from(token, "放弃 N", for_update=True)
    ctx.change_claim(wish, "release", lambda: wish.release(ctx.person), notices.claim_released)
    return f"已放弃心愿 {wish.ref}，它会重新开放给大家认领。"


@group.command("完成", roles={"member"},
               usage="完成 N [说明] [X小时] —— 报告已完成和服务时长，如：完成 12 已送到 2小时；可再发一张照片")
def complete_claim(ctx: Context, args: str) -> str:
    token, rest = split_first(args)
    hours, note = find_hours(rest)
    wish = ctx.wish_from(token, "完成 N [说明] [X小时]", for_update=True)
    if hours is not None and wish.claim_of(ctx.person) is None:
        return report_own_hours(ctx, wish, hours)  # already reported done: the hours come later
    timeline = "；".join(filter(None, [note, hours is not None and f"工时 {format_hours(round(hours, 2))}"]))
    claim = ctx.change_claim(wish, "complete", lambda: wish.complete_by(ctx.person, note or None, hours),
                             notices.claim_completed, timeline or None)
    if hours is not None:
        return (f"谢谢您！心愿 {wish.ref} 已报告完成，工时 {format_hours(claim.hours)}，许愿人确认后核实。"
                "可以再发一张照片留作记录。")
    return f"谢谢您！心愿 {wish.ref} 已报告完成，可以再发一张照片留作记录。"


@group.command("我的认领", roles={"member"}, usage="我的认领 —— 查看我认领的心愿", read_only=True)
def list_my_claims(ctx: Context, args: str) -> str:
    claims = ctx.session.scalars(
        select(Claim).where(Claim.member_id == ctx.person.id).order_by(Claim.id.desc()).limit(LIST_LIMIT)
        .options(joinedload(Claim.wish))
    ).all()
    if not claims:
        return "您还没有认领心愿。发送「心愿列表」看看。"
    lines = [f"{c.wish.ref} {c.wish.content[:20]} —— {c.status_label}" for c in claims]
    return "您的认领：\n" + "\n".join(lines)


__all__ = ["group", "ACTIVE"]
