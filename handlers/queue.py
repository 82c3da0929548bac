"""A grid worker's queue: `待审核` (what waits for their decision) and `我的网格` (the grid's
open, claimed and overdue wishes, with their numbers). An admin sees every community."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.router import CommandGroup
from models import Claim, Registration, Wish, local_time, utcnow
from models.wish import ACTIVE, CLAIMED, PENDING_REVIEW, PUBLISHED, status_literal
from models.workflow import REGISTRATION_PENDING

from .context import Context
from .paging import PAGE_SIZE, take_page

group = CommandGroup()
MAX_NUMBERS = 20  # wish numbers listed after a count in 我的网格


@group.command("待审核", roles={"gridworker", "admin"}, usage="待审核 —— 等您审核的心愿和报到申请（待审核 2 看第2页）",
               read_only=True)
def list_waiting(ctx: Context, args: str) -> str:
    _, page = take_page(args)
    scope = ctx.scope.area_name(ctx.session)
    wishes_waiting = (Wish.status == PENDING_REVIEW, ctx.scope.wish_condition())
    # Volunteer registrations are per community: its grid workers (any grid) decide them.
    registrations_waiting = ctx.scope.registrations(select(Registration).where(
        Registration.status == REGISTRATION_PENDING, Registration.community_id.is_not(None)))
    wish_total = ctx.session.scalar(select(func.count(Wish.id)).where(*wishes_waiting)) or 0
    registration_total = ctx.session.scalar(
        select(func.count()).select_from(registrations_waiting.subquery())) or 0
    total = wish_total + registration_total
    if not total:
        return f"{scope}现在没有等您审核的心愿和报到申请。"
    wishes = ctx.session.scalars(select(Wish).where(*wishes_waiting).order_by(Wish.id)
                                 .offset(page.offset).limit(PAGE_SIZE)).all()
    registrations = ctx.session.scalars(
        registrations_waiting.order_by(Registration.id)
        .offset(max(0, page.offset - wish_total)).limit(PAGE_SIZE - len(wishes))).all() if len(wishes) < PAGE_SIZE else []
    if not wishes and not registrations:
        return page.empty_note(total, "待审核")
    lines = [f"{scope}等您审核 {total} 条："]
    lines += [f"心愿 {w.ref} {ctx.wish_text(w, 24)}（{w.requester.masked_name}，{_day(w.created_at)}）" for w in wishes]
    lines += [f"报到 {r.ref} {r.name}（{r.unit_name}，{r.community.name}）" for r in registrations]
    lines += filter(None, [page.more(total, "待审核")])
    example = wishes[0].ref.lstrip("#") if wishes else registrations[0].ref
    lines.append(f"回复「审核 {example} 通过」或「审核 {example} 驳回 原因」。")
    return "\n".join(lines)


@group.command("我的网格", roles={"gridworker", "admin"}, usage="我的网格 —— 本网格待认领、已认领、超期的心愿",
               read_only=True)
def show_grid(ctx: Context, args: str) -> str:
    scope, in_scope = ctx.scope.area_name(ctx.session), ctx.scope.wish_condition()
    unclaimed_days, open_claim_days = ctx.setting("unclaimed_days"), ctx.setting("open_claim_days")
    now = utcnow()

    def numbers(query) -> list[int]:
        return list(ctx.session.scalars(query.order_by(Wish.id).distinct()))

    waiting = numbers(select(Wish.id).where(in_scope, Wish.status == PENDING_REVIEW))
    open_ = numbers(select(Wish.id).where(in_scope, Wish.status == status_literal(PUBLISHED)))
    claimed = numbers(select(Wish.id).where(in_scope, Wish.status == CLAIMED))
    unclaimed = numbers(select(Wish.id).where(
        in_scope, Wish.status == status_literal(PUBLISHED), Wish.published_at <= now - timedelta(days=unclaimed_days)))
    late = numbers(select(Wish.id).join(Claim, Claim.wish_id == Wish.id).where(
        in_scope, Claim.status == status_literal(ACTIVE), Claim.created_at <= now - timedelta(days=open_claim_days)))
    return "\n".join([
        f"{scope}：",
        _counted("待审核", waiting),
        _counted("待认领", open_),
        _counted("已认领", claimed),
        _counted(f"超过{unclaimed_days}天没人认领", unclaimed),
        _counted(f"认领超过{open_claim_days}天未完成", late),
        "发「待审核」看要审核的心愿，发「查询 12」看12号心愿。",
    ])


def _counted(label: str, numbers: list[int]) -> str:
    if not numbers:
        return f"{label} 0 个"
    shown = "、".join(f"#{n}" for n in numbers[:MAX_NUMBERS])
    more = f" 等（还有{len(numbers) - MAX_NUMBERS}个）" if len(numbers) > MAX_NUMBERS else ""
    return f"{label} {len(numbers)} 个：{shown}{more}"


def _day(moment) -> str:
    local = local_time(moment)
    return f"{local.month}月{local.day}日"
