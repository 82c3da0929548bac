"""A resident's wishes: submit, list, withdraw, confirm."""
from __future__ import annotations

import re

from sqlalchemy import bindparam, select

from bot.numbers import chinese_or_arabic
from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Wish
from models.privacy import shorten
from models.wish import PENDING_REVIEW, WITHDRAWN, status_label, wish_ref

from . import intake, notices, submission
from .context import Context
from .paging import Listing, take_page

group = CommandGroup()

# A score: `5分`, `五分`, `5星` at the end, or a bare number after a space (`确认 12 5`).
_RATING = re.compile(r"(?P<score>\d{1,3}|[一二两三四五六七八九十]{1,2})\s*(?:分|星)$|(?:^|\s)(?P<bare>\d{1,3})$")


@group.command("许愿", "心愿", roles={"resident"}, usage="许愿 需要一副老花镜 —— 提交心愿，也可以直接说您需要什么")
def submit_wish(ctx: Context, args: str) -> str:
    if ctx.person.community is None:  # someone new: ask where they live first, keeping their words
        return intake.start(ctx, args)
    return submission.submit(ctx, args)


@group.command("我的心愿是", "心愿是", roles={"resident"})
def submit_wish_in_own_words(ctx: Context, args: str) -> str:
    """"我的心愿是……" (or "心愿是……") is a wish said in the resident's own words (the longer keyword wins)."""
    return submit_wish(ctx, args)


_MY_WISHES = Listing(select(Wish.id, Wish.content, Wish.status).where(Wish.requester_id == bindparam("requester"))
                     .order_by(Wish.id.desc()), rows=True)


@group.command("我的心愿", roles={"resident"}, usage="我的心愿 —— 查看我的心愿", read_only=True)
def list_my_wishes(ctx: Context, args: str) -> str:
    _, page = take_page(args)
    wishes, total = _MY_WISHES.page(ctx.session, page, requester=ctx.person.id)
    if not total:
        return "您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。"
    if not wishes:
        return page.empty_note(total, "我的心愿")
    # Their own wishes: the text as written (models.scope: a requester may see their own).
    lines = [f"{wish_ref(w.id)} {shorten(w.content, 20)} —— {status_label(w.status)}" for w in wishes]
    return "\n".join(["您的心愿：", *lines, *filter(None, [page.more(total, "我的心愿")])])


@group.command("撤回", roles={"resident"}, usage="撤回 12 —— 撤回还没人认领的12号心愿")
def withdraw_wish(ctx: Context, args: str) -> str:
    wish = ctx.only_wish(args, "撤回 12（12 是心愿编号）", for_update=True)
    announce = None if wish.status == PENDING_REVIEW else notices.wish_withdrawn  # the group never saw it
    ctx.change(wish, "withdraw", lambda: wish.withdraw(ctx.person), announce)
    return f"心愿 {wish.ref} 已撤回。"


def parse_feedback(rest: str) -> tuple[str | None, int | None]:
    """`很满意 5分` -> ("很满意", 5), also `五分`, `5星`, or a bare trailing `5`; a score outside
    1–5 (`8分`) is refused rather than dropped."""
    rest = rest.strip()
    match = _RATING.search(rest)
    if not match:
        return rest or None, None
    rating = chinese_or_arabic(match.group("score") or match.group("bare"))
    if rating is None or not 1 <= rating <= 5:
        raise BadInput("评分请写 1 到 5 分，比如：确认 12 很满意 5分")
    return rest[: match.start()].strip() or None, rating


def confirm_for(ctx: Context, wish: Wish, feedback: str | None, rating: int | None) -> None:
    """The requester confirms, or staff of the wish's grid confirm on their behalf (recorded so)."""
    proxy = ctx.person.id != wish.requester_id
    if proxy and ctx.scope.is_staff:
        ctx.scope.require_staff_of(wish)  # the model refuses anyone else
    if rating is not None and not 1 <= rating <= 5:
        raise BadInput("评分请写 1 到 5。")
    feedback = (feedback or "").strip() or None  # the model refuses one too long
    note = feedback
    if proxy:
        note = f"网格员代确认（许愿人：{feedback}）" if feedback else "网格员代确认"
    ctx.change(wish, "confirm", lambda: wish.confirm(ctx.person, feedback, rating), notices.wish_confirmed, note)


@group.command("确认", roles={"resident", "gridworker", "admin"},
               usage="确认 12 很满意 5分 —— 确认12号心愿已实现，评价和1-5分可不写")
def confirm_wish(ctx: Context, args: str) -> str:
    token, rest = split_first(args)
    wish = ctx.wish_from(token, "确认 12 很满意 5分（12 是心愿编号）", for_update=True)
    feedback, rating = parse_feedback(rest)
    confirm_for(ctx, wish, feedback, rating)
    if ctx.person.id != wish.requester_id:
        return f"已代 {wish.requester.name} 确认心愿 {wish.ref}。"
    return f"心愿 {wish.ref} 已确认圆梦，谢谢您！"


new_wish = submission.new_wish  # the demo and tests make wishes through it

__all__ = ["group", "new_wish", "WITHDRAWN"]
