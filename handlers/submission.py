"""A resident's wish going in: checked, placed in their community and grid, then sent for review
(or published at once where the community needs no review). Chat, the newcomer's questions
(handlers/intake.py) and the demo all come through here."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from models import BadInput, Community, Wish, limited, utcnow
from models.wish import PENDING_REVIEW, PUBLISHED

from . import notices
from .categories import guess_category, guess_urgency
from .context import Context

MAX_WISH_LENGTH = 500
# The same words again within this time, the first still open, were sent again (the answer seemed
# slow, or the phone showed nothing): not a second need.
REPEAT_WINDOW = timedelta(hours=24)
# Spoken wishes arrive with the recogniser's punctuation: "许愿，需要一个助听器。"
_EDGE_PUNCTUATION = " \t\n，,。.：:；;！!？?、"


def clean_content(content: str) -> str:
    content = content.strip(_EDGE_PUNCTUATION)
    if not content:
        raise BadInput("请写上心愿内容，比如：许愿 需要一副老花镜")
    return limited(content, MAX_WISH_LENGTH, "心愿内容")


def resolve_community(ctx: Context) -> Community:
    person = ctx.person
    if person.community is not None:
        return person.community
    communities = list(ctx.session.scalars(select(Community).limit(2)))
    if len(communities) == 1:
        return communities[0]
    raise BadInput("您还没有登记所在社区，请联系您的网格员登记后再许愿。")


def new_wish(ctx: Context, content: str, *, requester=None, recorded_by=None) -> Wish:
    content = clean_content(content)
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


def submit(ctx: Context, content: str) -> str:
    """A registered resident's wish: for review, or published at once without review."""
    if (earlier := _sent_before(ctx, clean_content(content))) is not None:
        return f"这个心愿您已经提交过了（{earlier.ref}，{earlier.status_label}），不用再发。发「我的心愿」可以查看。"
    wish = new_wish(ctx, content)
    if wish.community.review_required:
        ctx.change(wish, "submit", None, notices.wish_submitted, new=True)
        return f"收到您的心愿 {wish.ref}，网格员审核后会发布。"
    ctx.change(wish, "submit", lambda: wish.publish_directly(None), notices.wish_published,
               "社区免审核，直接发布", new=True)
    return f"收到您的心愿 {wish.ref}，已发布，有人认领会告诉您。"


def _sent_before(ctx: Context, content: str) -> Wish | None:
    return ctx.session.scalar(select(Wish).where(
        Wish.requester_id == ctx.person.id, Wish.content == content, Wish.status.in_((PENDING_REVIEW, PUBLISHED)),
        Wish.created_at >= utcnow() - REPEAT_WINDOW).order_by(Wish.id.desc()).limit(1))


def submit_from_newcomer(ctx: Context, content: str) -> Wish:
    """A newcomer's first wish waits for review whatever the community's setting: the grid
    worker checks who they are first, and is told there is a new resident."""
    wish = new_wish(ctx, content)
    ctx.change(wish, "submit", None, notices.newcomer_wish, "新居民首次许愿", new=True)
    return wish
