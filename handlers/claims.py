"""A member's claims: browse, claim, release, complete."""
from __future__ import annotations

import functools

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import joinedload

from bot.hours import find_hours
from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Claim, Person, Registration, Wish
from models.privacy import Contact, brief, shorten
from models.wish import ACTIVE, PUBLISHED, claim_label, format_hours, status_literal, wish_ref
from models.workflow import REGISTRATION_APPROVED

from . import notices
from .categories import CATEGORIES, OTHER
from .context import Context
from .paging import Listing, take_page
from .service import report_own_hours

group = CommandGroup()
# What a claim's rules and notices read of its wish (its claims; the group push's community,
# the requester's name and contact), loaded with the wish rather than one query each.
WITH_CLAIMS = (joinedload(Wish.claims), joinedload(Wish.requester), joinedload(Wish.community))


# A listed wish's requester, joined in as Person: what scrub and the masked name read (_requester).
_REQUESTER_COLUMNS = (Person.id.label("requester_id"), Person.name, Person.phone, Person.address)


@functools.cache
def _open_wishes(in_community: bool, staff: bool, in_category: bool) -> Listing:
    """Published wishes of the member's community. Staff volunteer where they registered too
    (they keep their own community when approved elsewhere — see Registration.approve)."""
    condition = [Wish.status == status_literal(PUBLISHED)]  # ix_wish_open_list
    if in_community:
        here = Wish.community_id == bindparam("community")
        if staff:
            here = or_(here, Wish.community_id.in_(select(Registration.community_id).where(
                Registration.person_id == bindparam("person"), Registration.status == REGISTRATION_APPROVED)))
        condition.append(here)
    if in_category:
        condition.append(Wish.category == bindparam("category"))
    return Listing(select(Wish.id, Wish.category, Wish.content, *_REQUESTER_COLUMNS)
                   .join(Person, Wish.requester_id == Person.id).where(*condition)
                   .order_by(Wish.urgency.desc(), Wish.id), rows=True, counted=select(Wish.id).where(*condition))


def _requester(row) -> Contact:
    """The requester of a listed wish, from the columns the listings select with it."""
    return Contact(row.requester_id, row.name, row.phone, row.address)


@group.command("心愿列表", roles={"member"}, usage="心愿列表 —— 看看可以认领的心愿（心愿列表 2 看第2页）", read_only=True)
def list_open_wishes(ctx: Context, args: str) -> str:
    category, page = take_page(args)
    if category and category not in CATEGORIES:
        raise BadInput(f"没有这个类别。可选：{'、'.join(CATEGORIES)}")
    person = ctx.person
    listing = _open_wishes(bool(person.community_id), person.is_staff, bool(category))
    wishes, total = listing.page(ctx.session, page, community=person.community_id, person=person.id,
                                 category=category)
    command = f"心愿列表 {category}".strip()
    if not total:
        return "现在没有待认领的心愿，谢谢关心！"
    if not wishes:
        return page.empty_note(total, command)
    # An open list is read by anyone: every wish's text scrubbed (查询 shows more to those who may see it).
    lines = []
    for w in wishes:
        requester = _requester(w)
        lines.append(f"{wish_ref(w.id)}【{w.category or OTHER}】{brief(w.content, 24, requester)}（{requester.masked_name}）")
    footer = [page.more(total, command), f"想认领哪个，就回复「认领」加编号，比如：认领 {wishes[0].id}"]
    return "\n".join(["待认领的心愿：", *lines, *filter(None, footer)])


def completion_note(*parts: str | None, hours: float | None) -> str | None:
    """A completion's timeline line: the words given, then the hours reported."""
    written = [*parts, hours is not None and f"工时 {format_hours(round(hours, 2))}"]
    return "；".join(filter(None, written)) or None


@group.command("认领", "我要认领", "我想认领", roles={"member"}, usage="认领 12 —— 认领12号心愿")
def claim_wish(ctx: Context, args: str) -> str:
    wish = ctx.only_wish(args, "认领 12（12 是心愿编号）", for_update=True, load=WITH_CLAIMS)
    ctx.change_claim(wish, "claim", lambda: wish.claim_by(ctx.person), notices.wish_claimed)
    return f"认领成功！心愿 {wish.ref}：{ctx.wish_text(wish, 30)}\n许愿人的联系方式已私信发给您。完成后回复「完成 {wish.id}」。"


@group.command("放弃", roles={"member"}, usage="放弃 12 —— 放弃认领12号心愿")
def release_claim(ctx: Context, args: str) -> str:
    wish = ctx.only_wish(args, "放弃 12（12 是心愿编号）", for_update=True, load=WITH_CLAIMS)
    ctx.change_claim(wish, "release", lambda: wish.release(ctx.person), notices.claim_released)
    return f"已放弃心愿 {wish.ref}，它会重新开放给大家认领。"


@group.command("完成", roles={"member"},
               usage="完成 12 已送到 2小时 —— 报告12号心愿已完成和服务时长（说明、时长可不写）；可再发一张照片")
def complete_claim(ctx: Context, args: str) -> str:
    token, rest = split_first(args)
    hours, note = find_hours(rest)
    wish = ctx.wish_from(token, "完成 12 已送到 2小时（12 是心愿编号，说明和时长可不写）", for_update=True,
                         load=WITH_CLAIMS)
    if hours is not None and wish.claim_of(ctx.person) is None:
        return report_own_hours(ctx, wish, hours)  # already reported done: the hours come later
    claim = ctx.change_claim(wish, "complete", lambda: wish.complete_by(ctx.person, note or None, hours),
                             notices.claim_completed, completion_note(note, hours=hours))
    if hours is not None:
        return (f"谢谢您！心愿 {wish.ref} 已报告完成，工时 {format_hours(claim.hours)}，许愿人确认后核实。"
                "可以再发一张照片留作记录。")
    return f"谢谢您！心愿 {wish.ref} 已报告完成，可以再发一张照片留作记录。"




_MY_CLAIMS = Listing(select(Claim.status, Wish.id, Wish.content, *_REQUESTER_COLUMNS)
                     .join(Wish, Claim.wish_id == Wish.id).join(Person, Wish.requester_id == Person.id)
                     .where(Claim.member_id == bindparam("member")).order_by(Claim.id.desc()),
                     rows=True, counted=select(Claim.id).where(Claim.member_id == bindparam("member")))


@group.command("我的认领", roles={"member"}, usage="我的认领 —— 查看我认领的心愿", read_only=True)
def list_my_claims(ctx: Context, args: str) -> str:
    _, page = take_page(args)
    claims, total = _MY_CLAIMS.page(ctx.session, page, member=ctx.person.id)
    if not total:
        return "您还没有认领心愿。发送「心愿列表」看看。"
    if not claims:
        return page.empty_note(total, "我的认领")
    # As written while the claim is active; scrubbed once it ended.
    lines = [f"{wish_ref(c.id)} {shorten(c.content, 20) if c.status == ACTIVE else brief(c.content, 20, _requester(c))}"
             f" —— {claim_label(c.status)}" for c in claims]
    return "\n".join(["您的认领：", *lines, *filter(None, [page.more(total, "我的认领")])])


__all__ = ["group", "ACTIVE"]
