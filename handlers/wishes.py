"""A resident's wishes: submit, list, withdraw, confirm."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Community, Wish, limited
from models.wish import PENDING_REVIEW, WITHDRAWN

from . import notices
from .categories import guess_category, guess_urgency
from .context import Context
from .permissions import require_staff_of

group = CommandGroup()

MAX_WISH_LENGTH = 500
_RATING = re.compile(r"(?:^|\s)([1-5])\s*(?:分|星)?$")
# Spoken wishes arrive with the recogniser's punctuation: "许愿，需要一个助听器。"
_EDGE_PUNCTUATION = " \t\n，,。.：:；;！!？?、"


def resolve_community(ctx: Context) -> Community:
    person = ctx.person
    if person.community is not None:
        return person.community
    communities = list(ctx.session.scalars(select(Community).limit(2)))
    if len(communities) == 1:
        return communities[0]
    raise BadInput("您还没有登记所在社区，请联系您的网格员登记后再许愿。")


def new_wish(ctx: Context, content: str, *, requester=None, recorded_by=None) -> Wish:
    content = content.strip(_EDGE_PUNCTUATION)
    if not content:
        raise BadInput("请写上心愿内容，比如：许愿 需要一副老花镜")
    limited(content, MAX_WISH_LENGTH, "心愿内容")
    requester = requester or ctx.person
    community = requester.community or resolve_community(ctx)
    wish = Wish(
        content=content, requester=requester, recorded_by=recorded_by, community=community,
        grid=requester.grid, status=PENDING_REVIEW,
        category=guess_category(content), urgency=guess_urgency(content),
    )
    ctx.session.add(wish)
    ctx.session.flush()
    return wish


@group.command("许愿", "心愿", roles={"resident"}, usage="许愿 内容 —— 提交心愿，如：许愿 需要一副老花镜")
def submit_wish(ctx: Context, args: str) -> str:
    wish = new_wish(ctx, args)
    if wish.community.review_required:
        ctx.change(wish, "submit", None, notices.wish_submitted, new=True)
        return f"收到您的心愿 {wish.ref}，网格员审核后会发布。"
    ctx.change(wish, "submit", lambda: wish.publish_directly(None), notices.wish_published,
               "社区免审核，直接发布", new=True)
    return f"收到您的心愿 {wish.ref}，已发布，有人认领会告诉您。"


@group.command("我的心愿是", roles={"resident"})
def submit_wish_in_own_words(ctx: Context, args: str) -> str:
    """"我的心愿是……" is a wish said in the resident's own words (the longer keyword wins)."""
    return submit_wish(ctx, args)


@group.command("我的心愿", roles={"resident"}, usage="我的心愿 —— 查看我的心愿", read_only=True)
def list_my_wishes(ctx: Context, args: str) -> str:
    wishes = ctx.session.scalars(
        select(Wish).where(Wish.requester_id == ctx.person.id).order_by(Wish.id.desc()).limit(10)
    ).all()
    if not wishes:
        return "您还没有心愿。发送「许愿 内容」提交一个。"
    lines = [f"{w.ref} {w.content[:20]} —— {w.status_label}" for w in wishes]
    return "您的心愿：\n" + "\n".join(lines)


@group.command("撤回", roles={"resident"}, usage="撤回 N —— 撤回还没人认领的心愿")
def withdraw_wish(ctx: Context, args: str) -> str:
    token, _ = split_first(args)
    wish = ctx.wish_from(token, "撤回 N", for_update=True)
    announce = None if wish.status == PENDING_REVIEW else notices.wish_withdrawn  # the group never saw it
    ctx.change(wish, "withdraw", lambda: wish.withdraw(ctx.person), announce)
    return f"心愿 {wish.ref} 已撤回。"


def parse_feedback(rest: str) -> tuple[str | None, int | None]:
    """`很满意 5分` -> ("很满意", 5); a trailing 1–5 is a rating."""
    rest = rest.strip()
    match = _RATING.search(rest)
    if match:
        return rest[: match.start()].strip() or None, int(match.group(1))
    return rest or None, None


def confirm_for(ctx: Context, wish: Wish, feedback: str | None, rating: int | None) -> None:
    """The requester confirms, or staff of the wish's grid confirm on their behalf (recorded so)."""
    proxy = ctx.person.id != wish.requester_id
    if proxy and ctx.person.is_staff:
        require_staff_of(ctx.person, wish)  # the model refuses anyone else
    if rating is not None and not 1 <= rating <= 5:
        raise BadInput("评分请写 1 到 5。")
    feedback = (feedback or "").strip() or None  # the model refuses one too long
    note = feedback
    if proxy:
        note = f"网格员代确认（许愿人：{feedback}）" if feedback else "网格员代确认"
    ctx.change(wish, "confirm", lambda: wish.confirm(ctx.person, feedback, rating), notices.wish_confirmed, note)


@group.command("确认", roles={"resident", "gridworker", "admin"},
               usage="确认 N [评价] —— 确认心愿已实现，可加1-5分")
def confirm_wish(ctx: Context, args: str) -> str:
    token, rest = split_first(args)
    wish = ctx.wish_from(token, "确认 N [评价]", for_update=True)
    feedback, rating = parse_feedback(rest)
    confirm_for(ctx, wish, feedback, rating)
    if ctx.person.id != wish.requester_id:
        return f"已代 {wish.requester.name} 确认心愿 {wish.ref}。"
    return f"心愿 {wish.ref} 已确认圆梦，谢谢您！"


__all__ = ["group", "new_wish", "WITHDRAWN"]
