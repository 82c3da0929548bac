"""The ledger's rows for export, read in chunks as plain rows (no ORM objects) by id, so that a
million wishes take one pass and flat memory."""
from __future__ import annotations

from typing import Callable, ContextManager, Iterator

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from models import Claim, Community, Grid, Person, Unit, Wish, mask_name
from models.scope import Scope
from models.wish import RELEASED, STATUS_LABELS

from .common import format_time
from .ledger import LedgerFilter
from .sheets import Sheet

LEDGER_HEADINGS = ("序号", "心愿编号", "许愿人", "网格", "类别", "心愿内容", "认领人", "认领单位", "状态",
                   "认领时间", "完成时间", "确认时间")
LEDGER_WIDTHS = (6, 10, 10, 22, 10, 40, 16, 20, 14, 17, 17, 17)
CONTENT_COLUMN = 5
CHUNK = 2000

Progress = Callable[[int], None]  # rows written so far


def _wishes(scope: Scope, flt: LedgerFilter):
    requester = aliased(Person)  # not correlated with the filter's own look-up of people
    query = (select(Wish.id, Wish.community_id, Wish.grid_id, Wish.category, Wish.content, Wish.status,
                    Wish.completed_at, Wish.confirmed_at, requester.name.label("requester"),
                    Community.name.label("community"), Grid.name.label("grid"))
             .join(requester, Wish.requester_id == requester.id)
             .join(Community, Wish.community_id == Community.id)
             .outerjoin(Grid, Wish.grid_id == Grid.id))
    return flt.apply(scope.wishes(query))


def count_rows(session: Session, scope: Scope, flt: LedgerFilter) -> int:
    return session.scalar(flt.apply(scope.wishes(select(func.count()).select_from(Wish)))) or 0


def _claims_of(session: Session, scope: Scope, flt: LedgerFilter, after: int, upto: int) -> dict[int, list]:
    """The claims (not given up) of the chunk's wishes: those in (after, upto] that the scope and
    filter keep — the same conditions again rather than a list of thousands of ids. The range is
    stated on the claim's own wish_id too, so the claims are read by their index, not scanned."""
    member = aliased(Person)  # not correlated with the filter's own look-up of people
    query = (select(Claim.wish_id, Claim.created_at, member.name, Unit.name)
             .join(Wish, Claim.wish_id == Wish.id)
             .join(member, Claim.member_id == member.id).outerjoin(Unit, member.unit_id == Unit.id)
             .where(Claim.wish_id > after, Claim.wish_id <= upto, Wish.id > after, Wish.id <= upto,
                    Claim.status != RELEASED).order_by(Claim.id))
    rows = session.execute(flt.apply(scope.wishes(query)))
    claims: dict[int, list] = {}
    for wish_id, created_at, member, unit in rows:
        claims.setdefault(wish_id, []).append((created_at, member, unit))
    return claims


def ledger_rows(reads: Callable[[], ContextManager[Session]], scope: Scope, flt: LedgerFilter,
                progress: Progress | None = None, chunk: int = CHUNK) -> Iterator[list]:
    """Oldest first, numbered from 1, in the 台账 layout. Each chunk is read in a read-only
    session of its own (`Database.reads`): no write lock held on SQLite while a file is written."""
    query = _wishes(scope, flt).order_by(Wish.id).limit(chunk)
    number, last = 0, 0
    while True:
        with reads() as session:
            wishes = session.execute(query.where(Wish.id > last)).all()
            claims = _claims_of(session, scope, flt, last, wishes[-1].id) if wishes else {}
        if not wishes:
            return
        for wish in wishes:
            number += 1
            taken = claims.get(wish.id, [])
            # The scope filter already keeps other areas' wishes out; this keeps the rule explicit.
            requester = wish.requester if scope.covers(wish) else mask_name(wish.requester)
            yield [
                number, f"#{wish.id}", requester,
                f"{wish.community}/{wish.grid}" if wish.grid else wish.community,
                wish.category or "", wish.content,
                "、".join(member for _, member, _ in taken),
                "、".join(dict.fromkeys(unit for _, _, unit in taken if unit)),
                STATUS_LABELS.get(wish.status, wish.status),
                format_time(min((created for created, _, _ in taken), default=None)),
                format_time(wish.completed_at), format_time(wish.confirmed_at),
            ]
        last = wishes[-1].id
        if progress:
            progress(number)


def ledger_sheet(rows) -> Sheet:
    return Sheet("微心愿台账", LEDGER_HEADINGS, rows, LEDGER_WIDTHS, {CONTENT_COLUMN})
