"""The figures' roll-up: what an admin's figures page counts, kept by the clock so that a page
reads a few thousand summed rows instead of every wish and claim of a city's years.

`figure_tally` holds counts per area (community, grid): each stage per month and in all,
wishes collected per category, claims taken and completed per member. `figure_sum` is the same
summed over every area. Neither is written by a handler: the clock's `refresh` looks at the
areas where anything happened since its last look (the timeline's `created_at`, indexed, and
wishes newer than the last it saw), counts those areas again from their wishes, replaces their
rows and adds the difference to the sums.

The figures stay exact between two looks: a reader counts the areas changed since the last
look live (`Rollup.load`: an area is a few hundred wishes, by index) and corrects the stored rows
by the difference. The window reaches GRACE further back than the last look, so that a change
whose transaction was still open when the clock counted is looked at again.

A person's unit and name are joined when read (a member who changes unit takes their history
along, as the direct query does). What is not rolled up: the medians (computed live) and the
service-hour figures (handlers.service_figures).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Select, and_, case, delete, false, func, insert, literal_column, or_, select, true, union, union_all
from sqlalchemy.orm import Session

from models import Claim, FigureState, FigureSum, FigureTally, Person, Unit, Wish, WishEvent, local_zone, utcnow
from models.wish import COMPLETED, RELEASED, STAGES

from .db import Database

ALL_MONTHS = "*"
UNCATEGORISED = "未分类"
NO_UNIT = "个人"
CATEGORY, TAKEN, DONE = "category", "taken", "done"
STAGE_KEYS = tuple(key for key, _, _ in STAGES)
MEMBER_KINDS = (TAKEN, DONE)
GRACE = timedelta(minutes=15)  # longer than any transaction that changes a wish
STATE_ID = 1

Key = tuple[str, str, int, int, str, int]  # kind, month, community, grid (0: none), category, member
_TALLY = (FigureTally.kind, FigureTally.month, FigureTally.community_id, FigureTally.grid_id,
          FigureTally.category, FigureTally.member_id, FigureTally.n)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def month_text(dialect: str, column):
    """The local month of a timestamp as `2026-11` (bot.figures.month_bucket, as text)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone(str(local_zone()), column), literal_column("'YYYY-MM'"))
    offset = int(datetime(2000, 1, 1, tzinfo=local_zone()).utcoffset().total_seconds() // 3600)
    return func.strftime("%Y-%m", column, f"{offset:+d} hours")


def _text(value: str):
    return literal_column(f"'{value}'")  # constants of this module only


def tally_selects(dialect: str, condition) -> list[Select]:
    """The roll-up's rows (kind, month, community, grid, category, member, n) for the wishes
    that meet `condition`, as selects to run or insert from."""
    grid = func.coalesce(Wish.grid_id, 0).label("grid_id")
    none, nobody = _text(""), literal_column("0")
    selects = []
    for key, _, attr in STAGES:
        column = getattr(Wish, attr)
        month = month_text(dialect, column).label("month")
        selects.append(select(_text(key), month, Wish.community_id, grid, none, nobody, func.count())
                       .where(column.is_not(None), condition).group_by(month, Wish.community_id, grid))
        selects.append(select(_text(key), _text(ALL_MONTHS), Wish.community_id, grid, none, nobody, func.count())
                       .where(column.is_not(None), condition).group_by(Wish.community_id, grid))
    category = func.coalesce(Wish.category, UNCATEGORISED).label("category")
    month = month_text(dialect, Wish.created_at).label("month")
    selects.append(select(_text(CATEGORY), month, Wish.community_id, grid, category, nobody, func.count())
                   .where(Wish.created_at.is_not(None), condition).group_by(month, Wish.community_id, grid, category))
    selects.append(select(_text(CATEGORY), _text(ALL_MONTHS), Wish.community_id, grid, category, nobody, func.count())
                   .where(Wish.created_at.is_not(None), condition).group_by(Wish.community_id, grid, category))
    for kind, status, column in ((TAKEN, Claim.status != RELEASED, Claim.created_at),
                                 (DONE, Claim.status == COMPLETED, Claim.ended_at)):
        month = month_text(dialect, column).label("month")
        selects.append(
            select(_text(kind), month, Wish.community_id, grid, none, Claim.member_id, func.count())
            .select_from(Claim).join(Wish, Claim.wish_id == Wish.id)
            .where(status, column.is_not(None), condition)
            .group_by(month, Wish.community_id, grid, Claim.member_id))
    return selects


# --- areas --------------------------------------------------------------------------------


def _wish_in(areas: set[tuple[int, int]]):
    grids = sorted({g for _, g in areas if g})
    bare = sorted({c for c, g in areas if not g})
    parts = []
    if grids:
        parts.append(Wish.grid_id.in_(grids))
    if bare:
        parts.append(and_(Wish.community_id.in_(bare), Wish.grid_id.is_(None)))
    return or_(*parts) if parts else false()


def _tally_in(areas: set[tuple[int, int]]):
    grids = sorted({g for _, g in areas if g})
    bare = sorted({c for c, g in areas if not g})
    parts = []
    if grids:
        parts.append(FigureTally.grid_id.in_(grids))
    if bare:
        parts.append(and_(FigureTally.community_id.in_(bare), FigureTally.grid_id == 0))
    return or_(*parts) if parts else false()


def changed_areas(session: Session, state: FigureState) -> set[tuple[int, int]]:
    """The areas (community, grid or 0) where a wish changed since the last look (less GRACE),
    or a wish was added that the last look did not see."""
    grid = func.coalesce(Wish.grid_id, 0)
    touched = (select(Wish.community_id, grid).join(WishEvent, WishEvent.wish_id == Wish.id)
               .where(WishEvent.created_at >= state.built_at - GRACE))
    newer = select(Wish.community_id, grid).where(Wish.id > state.max_wish_id)
    return {(c, g) for c, g in session.execute(union(touched, newer))}


def _counted(session: Session, areas: set[tuple[int, int]]) -> Counter:
    """The areas' rows as counted now."""
    counts: Counter = Counter()
    if areas:
        for *key, n in session.execute(union_all(*tally_selects(_dialect(session), _wish_in(areas)))):
            counts[tuple(key)] += n
    return counts


def _stored(session: Session, areas: set[tuple[int, int]]) -> Counter:
    """The areas' rows as the roll-up holds them."""
    counts: Counter = Counter()
    if areas:
        for *key, n in session.execute(select(*_TALLY).where(_tally_in(areas))):
            counts[tuple(key)] += n
    return counts


# --- the clock's side -----------------------------------------------------------------------


def _sum_key(key: Key) -> tuple[str, str, str, int]:
    kind, month, _, _, category, member = key
    return kind, month, category, member


def rebuild(session: Session, state: FigureState | None = None) -> FigureState:
    """Count everything again (the first time, or on demand), in the caller's transaction."""
    now = utcnow()  # before anything is read: a change after this is in the next window
    max_id = session.scalar(select(func.max(Wish.id))) or 0
    session.execute(delete(FigureTally))
    session.execute(delete(FigureSum))
    columns = ["kind", "month", "community_id", "grid_id", "category", "member_id", "n"]
    session.execute(insert(FigureTally).from_select(columns, union_all(*tally_selects(_dialect(session), true()))))
    sums = ["kind", "month", "category", "member_id", "n"]
    session.execute(insert(FigureSum).from_select(sums, select(
        FigureTally.kind, FigureTally.month, FigureTally.category, FigureTally.member_id, func.sum(FigureTally.n))
        .group_by(FigureTally.kind, FigureTally.month, FigureTally.category, FigureTally.member_id)))
    # Claims per member in all months (the stages and categories have their `*` rows per area).
    session.execute(insert(FigureSum).from_select(sums, select(
        FigureTally.kind, _text(ALL_MONTHS), FigureTally.category, FigureTally.member_id, func.sum(FigureTally.n))
        .where(FigureTally.kind.in_(MEMBER_KINDS))
        .group_by(FigureTally.kind, FigureTally.category, FigureTally.member_id)))
    if state is None:
        state = FigureState(id=STATE_ID, built_at=now, max_wish_id=max_id)
        session.add(state)
    state.built_at, state.max_wish_id, state.rebuilt_at = now, max_id, now
    session.flush()
    return state


def refresh(db: Database) -> int:
    """The clock's look: count again the areas changed since the last one. Returns how many."""
    with db.transaction() as session:
        state = session.scalar(select(FigureState).where(FigureState.id == STATE_ID).with_for_update())
        if state is None:
            rebuild(session)
            return -1
        now = utcnow()
        max_id = session.scalar(select(func.max(Wish.id))) or 0
        areas = changed_areas(session, state)
        if areas:
            old, new = _stored(session, areas), _counted(session, areas)
            session.execute(delete(FigureTally).where(_tally_in(areas)))
            if new:
                session.execute(insert(FigureTally), [
                    dict(zip(("kind", "month", "community_id", "grid_id", "category", "member_id"), key), n=n)
                    for key, n in new.items()])
            change: Counter = Counter()
            for counts, sign in ((new, 1), (old, -1)):
                for key, n in counts.items():
                    change[_sum_key(key)] += sign * n
                    if key[0] in MEMBER_KINDS:
                        change[(key[0], ALL_MONTHS, key[4], key[5])] += sign * n
            for (kind, month, category, member), n in change.items():
                if not n:
                    continue
                where = and_(FigureSum.kind == kind, FigureSum.month == month, FigureSum.category == category,
                             FigureSum.member_id == member)
                row = session.scalar(select(FigureSum).where(where))
                if row is None:
                    session.add(FigureSum(kind=kind, month=month, category=category, member_id=member, n=n))
                else:
                    row.n += n
        state.built_at, state.max_wish_id = now, max_id
        return len(areas)


# --- the reader's side ----------------------------------------------------------------------


@dataclass
class Rollup:
    """The roll-up as a reader sees it: the stored rows, corrected by `delta` (for each changed
    area, its rows counted now less its stored ones)."""

    delta: Counter = field(default_factory=Counter)

    @classmethod
    def load(cls, session: Session) -> "Rollup | None":
        """None when the clock has not built it yet (the caller counts directly)."""
        state = session.get(FigureState, STATE_ID)
        if state is None:
            return None
        areas = changed_areas(session, state)
        delta = _counted(session, areas)
        delta.subtract(_stored(session, areas))
        return cls(Counter({key: n for key, n in delta.items() if n}))

    def _changes(self, kinds, month: str | None):
        """Corrections of these kinds in this month (None: every month, for member kinds)."""
        for key, n in self.delta.items():
            if key[0] in kinds and (month is None or key[1] == month):
                yield key, n

    # Stage counts ---------------------------------------------------------------------

    def stage_totals(self, session: Session, month: str) -> Counter:
        totals = Counter({key: 0 for key in STAGE_KEYS})
        for kind, n in session.execute(select(FigureSum.kind, func.sum(FigureSum.n)).where(
                FigureSum.kind.in_(STAGE_KEYS), FigureSum.month == month).group_by(FigureSum.kind)):
            totals[kind] += n
        for key, n in self._changes(STAGE_KEYS, month):
            totals[key[0]] += n
        return totals

    def monthly(self, session: Session, months: list[str]) -> dict[str, Counter]:
        monthly: dict[str, Counter] = {m: Counter() for m in months}
        for kind, month, n in session.execute(
                select(FigureSum.kind, FigureSum.month, func.sum(FigureSum.n))
                .where(FigureSum.kind.in_(STAGE_KEYS), FigureSum.month.in_(months))
                .group_by(FigureSum.kind, FigureSum.month)):
            monthly[month][kind] += n
        for key, n in self.delta.items():
            if key[0] in STAGE_KEYS and key[1] in monthly:
                monthly[key[1]][key[0]] += n
        return {m: +counts for m, counts in monthly.items()}

    def areas(self, session: Session, month: str) -> tuple[dict, set]:
        """(counts per area in the month, in STAGES order; the areas with any wish at all)."""
        found: dict[tuple[int, int], Counter] = {}
        for community, grid, kind, n in session.execute(
                select(FigureTally.community_id, FigureTally.grid_id, FigureTally.kind, FigureTally.n)
                .where(FigureTally.month == month, FigureTally.kind.in_(STAGE_KEYS))):
            found.setdefault((community, grid), Counter())[kind] += n
        present: Counter = Counter()
        for community, grid, n in session.execute(
                select(FigureTally.community_id, FigureTally.grid_id, FigureTally.n)
                .where(FigureTally.month == ALL_MONTHS, FigureTally.kind == "collected")):
            present[(community, grid)] += n
        for (kind, row_month, community, grid, _, _), n in self.delta.items():
            if kind in STAGE_KEYS and row_month == month:
                found.setdefault((community, grid), Counter())[kind] += n
            if kind == "collected" and row_month == ALL_MONTHS:
                present[(community, grid)] += n
        rows = {(c, g or None): [counts[key] for key in STAGE_KEYS] for (c, g), counts in found.items()
                if any(counts.values())}
        return rows, {(c, g or None) for (c, g), n in present.items() if n > 0}

    def categories(self, session: Session, month: str) -> list[tuple[str, int]]:
        counts: Counter = Counter()
        for category, n in session.execute(select(FigureSum.category, func.sum(FigureSum.n)).where(
                FigureSum.kind == CATEGORY, FigureSum.month == month).group_by(FigureSum.category)):
            counts[category] += n
        for key, n in self._changes((CATEGORY,), month):
            counts[key[4]] += n
        return sorted(((name, n) for name, n in counts.items() if n > 0), key=lambda r: (-r[1], r[0]))

    # Claims per member ---------------------------------------------------------------------

    def _member_changes(self, month: str) -> dict[int, Counter]:
        changes: dict[int, Counter] = {}
        for key, n in self._changes(MEMBER_KINDS, None if month == ALL_MONTHS else month):
            changes.setdefault(key[5], Counter())[key[0]] += n
        return changes

    def units(self, session: Session, month: str) -> list[tuple[str, int, int]]:
        unit = func.coalesce(Unit.name, NO_UNIT).label("unit")
        taken = func.sum(case((FigureSum.kind == TAKEN, FigureSum.n), else_=0))
        done = func.sum(case((FigureSum.kind == DONE, FigureSum.n), else_=0))
        counts: dict[str, list[int]] = {}
        for name, claims, completed in session.execute(
                select(unit, taken, done).select_from(FigureSum)
                .join(Person, FigureSum.member_id == Person.id).outerjoin(Unit, Person.unit_id == Unit.id)
                .where(FigureSum.kind.in_(MEMBER_KINDS), FigureSum.month == month).group_by(unit)):
            counts[name] = [claims, completed]
        changes = self._member_changes(month)
        if changes:
            for member, name in session.execute(
                    select(Person.id, unit).outerjoin(Unit, Person.unit_id == Unit.id)
                    .where(Person.id.in_(sorted(changes)))):
                row = counts.setdefault(name, [0, 0])
                row[0] += changes[member][TAKEN]
                row[1] += changes[member][DONE]
        rows = [(name, claims, completed) for name, (claims, completed) in counts.items() if claims or completed]
        return sorted(rows, key=lambda r: (-r[2], -r[1], r[0]))

    def honour_roll(self, session: Session, month: str, limit: int) -> list[tuple[str, str, int]]:
        """The top `limit` by completions: the stored top, widened by as many as were changed
        (a changed member may fall out), merged with the changed members' own counts."""
        changes = {member: c[DONE] for member, c in self._member_changes(month).items() if c[DONE]}
        unit = func.coalesce(Unit.name, NO_UNIT)
        base = (select(Person.id, Person.name, unit, FigureSum.n).select_from(FigureSum)
                .join(Person, FigureSum.member_id == Person.id).outerjoin(Unit, Person.unit_id == Unit.id)
                .where(FigureSum.kind == DONE, FigureSum.month == month))
        members = {pid: [name, unit_name, n] for pid, name, unit_name, n in session.execute(
            base.where(FigureSum.n > 0).order_by(FigureSum.n.desc(), Person.name, Person.id)
            .limit(limit + len(changes)))}
        if changes:
            stored = {pid: n for pid, _, _, n in session.execute(base.where(Person.id.in_(sorted(changes))))}
            for pid, name, unit_name in session.execute(
                    select(Person.id, Person.name, unit).outerjoin(Unit, Person.unit_id == Unit.id)
                    .where(Person.id.in_(sorted(changes)))):
                members[pid] = [name, unit_name, stored.get(pid, 0) + changes[pid]]
        ranked = sorted(((name, pid, unit_name, n) for pid, (name, unit_name, n) in members.items() if n > 0),
                        key=lambda r: (-r[3], r[0], r[1]))
        return [(name, unit_name, n) for name, _, unit_name, n in ranked[:limit]]
