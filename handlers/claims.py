"""A member's claims: browse, claim, release, complete."""
from __future__ import annotations

from functools import cache

from sqlalchemy import bindparam, select

from bot.hours import find_hours
from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Claim, Person, Wish, mask_name
from models.wish import ACTIVE, PUBLISHED, claim_label, format_hours, wish_ref

from . import notices
from .categories import CATEGORIES, OTHER
from .context import Context
from .service import report_own_hours

group = CommandGroup()
LIST_LIMIT = 10


@cache
def _open_wishes(in_community: bool, in_category: bool):
    """The listing's query, built once per shape (building and keying it costs more than running it)."""
    query = (select(Wish.id, Wish.category, Wish.content, Person.name).join(Wish.requester)
             .where(Wish.status == PUBLISHED))
    if in_community:
        query = query.where(Wish.community_id == bindparam("community"))
    if in_category:
        query = query.where(Wish.category == bindparam("category"))
    return query.order_by(Wish.urgency.desc(), Wish.id).limit(LIST_LIMIT)


@group.command("心愿列表", roles={"member"}, usage="心愿列表 —— 看看可以认领的心愿", read_only=True)
def list_open_wishes(ctx: Context, args: str) -> str:
    category = args.strip()
    if category and category not in CATEGORIES:
        raise BadInput(f"没有这个类别。可选：{'、'.join(CATEGORIES)}")
    community = ctx.person.community_id
    rows = ctx.session.execute(_open_wishes(bool(community), bool(category)),
                               {"community": community, "category": category}).all()
    if not rows:
        return "现在没有待认领的心愿，谢谢关心！"
    lines = [f"{wish_ref(number)}【{kind or OTHER}】{content[:24]}（{mask_name(name)}）"
             for number, kind, content, name in rows]
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


_MY_CLAIMS = (select(Wish.id, Wish.content, Claim.status).join(Claim.wish)
              .where(Claim.member_id == bindparam("member")).order_by(Claim.id.desc()).limit(LIST_LIMIT))


@group.command("我的认领", roles={"member"}, usage="我的认领 —— 查看我认领的心愿", read_only=True)
def list_my_claims(ctx: Context, args: str) -> str:
    rows = ctx.session.execute(_MY_CLAIMS, {"member": ctx.person.id}).all()
    if not rows:
        return "您还没有认领心愿。发送「心愿列表」看看。"
    lines = [f"{wish_ref(number)} {content[:20]} —— {claim_label(status)}" for number, content, status in rows]
    return "您的认领：\n" + "\n".join(lines)


__all__ = ["group", "ACTIVE"]
