"""The figures' roll-up: what the figures page and the monthly report count (for the city, a
community or a grid), kept by the clock so that a page reads a few thousand summed rows instead
of every wish and claim of a city's years.

`figure_tally` holds counts per area (community, grid): each stage per month and in all,
wishes collected per category, claims taken and completed per member; `figure_sum` the same
summed over every area. `figure_wish` and `figure_claim` record what was counted of each wish
and claim. No handler writes any of them: the clock's `refresh` (every minute) takes the wishes
changed since its last look (the timeline's `created_at`, indexed, and the wishes it has not
seen), counts them again, adds the difference to the counts and records the new rows.

The figures stay exact between two looks: a reader does the same for the wishes changed since
the last look (`Rollup.load`: a few, by index) and corrects the stored counts by the difference.
The window reaches GRACE further back than the last look, so that a change whose transaction was
still open while the clock counted is looked at again (looking twice changes nothing: the
difference is taken against what was recorded). Every change to a wish or its claims goes
through Context.change, which writes the timeline row in the same transaction.

A person's unit and name are joined when read (a member who changes unit takes their history
along, as the direct query does). The medians of all months (PostgreSQL) keep bucket counts the
same way and read the middle rows through an index; a month's medians are computed live over its
indexed range. Not rolled up: the service-hour figures (handlers.service_figures).
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    Float, Integer, Select, String, and_, case, cast, delete, func, insert, literal_column, null, select, text, true,
    tuple_, union, union_all,
)
from sqlalchemy.orm import Session

from models import (
    Claim, FigureClaim, FigureState, FigureSum, FigureTally, FigureWish, Person, Unit, Wish, WishEvent, local_zone,
    utcnow,
)
from models.wish import COMPLETED, RELEASED, STAGES

from .db import Database

ALL_MONTHS = "*"
UNCATEGORISED = "未分类"
NO_UNIT = "个人"
CATEGORY, TAKEN, DONE = "category", "taken", "done"
STAGE_KEYS = tuple(key for key, _, _ in STAGES)
MEMBER_KINDS = (TAKEN, DONE)
# The medians of all months (PostgreSQL): how many durations fall in each bucket, kept like the
# counts; the middle one is then read from its bucket through an index on (bucket, duration).
DURATIONS = {"to_claim": ("published_at", "claimed_at"), "to_complete": ("claimed_at", "completed_at")}
GRACE = timedelta(minutes=2)  # longer than any transaction that changes a wish
# More changed wishes than this (the clock stopped for long, a bulk import): a reader counts
# directly and the next look rebuilds, rather than correcting by that many.
MAX_CHANGED = 5000
STATE_ID = 1

Key = tuple[str, str, int, int, str, int]  # kind, month, community, grid (0: none), category, member


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


# --- what is counted of each wish and claim ------------------------------------------------


def duration_seconds(start_attr: str, end_attr: str):
    """As bot.figures.median_hours reads a duration (and the migration's index has it)."""
    return cast(func.extract("epoch", getattr(Wish, end_attr) - getattr(Wish, start_attr)), Float)


def duration_bucket(seconds):
    """64 buckets an e-fold (several hundred in all; a bucket holds a few tenths of a percent of
    the durations). Constants inline, as the migration's index has them."""
    one, zero, per = literal_column("1"), literal_column("0"), literal_column("64")
    return cast(func.floor(func.ln(func.greatest(seconds, zero) + one) * per), Integer)


def _duration_columns(dialect: str) -> list:
    if dialect != "postgresql":
        return [null(), null()]
    return [case((and_(getattr(Wish, start).is_not(None), getattr(Wish, end).is_not(None)),
                  duration_bucket(duration_seconds(start, end))))
            for start, end in DURATIONS.values()]


def _wish_columns(dialect: str) -> list:
    """A wish as the roll-up counts it (FigureWish's columns, in order)."""
    return [Wish.id, Wish.community_id, func.coalesce(Wish.grid_id, 0), func.coalesce(Wish.category, UNCATEGORISED),
            *(month_text(dialect, getattr(Wish, attr)) for _, _, attr in STAGES), *_duration_columns(dialect)]


def _claim_columns(dialect: str) -> list:
    """A claim as the roll-up counts it (FigureClaim's columns, in order)."""
    return [Claim.id, Claim.wish_id, Claim.member_id,
            case((Claim.status != RELEASED, month_text(dialect, Claim.created_at))),
            case((Claim.status == COMPLETED, month_text(dialect, Claim.ended_at)))]


_RECORDED_WISH = (FigureWish.wish_id, FigureWish.community_id, FigureWish.grid_id, FigureWish.category,
                  *(getattr(FigureWish, key) for key in STAGE_KEYS), *(getattr(FigureWish, k) for k in DURATIONS))
_RECORDED_CLAIM = (FigureClaim.claim_id, FigureClaim.wish_id, FigureClaim.member_id, FigureClaim.taken,
                   FigureClaim.done)


def facts(wishes, claims) -> Counter:
    """The roll-up's rows for these wishes and their claims (rows as _wish_columns and
    _claim_columns give them, live or recorded)."""
    counts: Counter = Counter()
    areas = {}
    for wish_id, community, grid, category, *months in wishes:
        areas[wish_id] = (community, grid)
        months, buckets = months[:len(STAGE_KEYS)], months[len(STAGE_KEYS):]
        for kind, bucket in zip(DURATIONS, buckets):
            if bucket is not None:
                counts[(kind, ALL_MONTHS, community, grid, str(bucket), 0)] += 1
        for key, month in zip(STAGE_KEYS, months):
            if month is not None:
                counts[(key, month, community, grid, "", 0)] += 1
                counts[(key, ALL_MONTHS, community, grid, "", 0)] += 1
        if months[0] is not None:
            counts[(CATEGORY, months[0], community, grid, category, 0)] += 1
            counts[(CATEGORY, ALL_MONTHS, community, grid, category, 0)] += 1
    for _, wish_id, member, taken, done in claims:
        community, grid = areas[wish_id]
        if taken is not None:
            counts[(TAKEN, taken, community, grid, "", member)] += 1
        if done is not None:
            counts[(DONE, done, community, grid, "", member)] += 1
    return counts


def changed_wishes(session: Session, state: FigureState) -> list[int]:
    """The wishes changed since the last look (less GRACE), and those the last look did not see."""
    touched = select(WishEvent.wish_id).where(WishEvent.created_at >= state.built_at - GRACE)
    newer = select(Wish.id).where(Wish.id > state.max_wish_id)
    return sorted(session.scalars(union(touched, newer)))


def _live(session: Session, ids: list[int]) -> tuple[list, list]:
    dialect = _dialect(session)
    wishes = session.execute(select(*_wish_columns(dialect)).where(Wish.id.in_(ids))).all()
    claims = session.execute(select(*_claim_columns(dialect)).where(Claim.wish_id.in_(ids))).all()
    return wishes, claims


def _recorded(session: Session, ids: list[int]) -> tuple[list, list]:
    wishes = session.execute(select(*_RECORDED_WISH).where(FigureWish.wish_id.in_(ids))).all()
    claims = session.execute(select(*_RECORDED_CLAIM).where(FigureClaim.wish_id.in_(ids))).all()
    return wishes, claims


def _difference(session: Session, ids: list[int]) -> tuple[Counter, tuple[list, list]]:
    """What the wishes count now less what the roll-up counted of them; and their live rows."""
    live = _live(session, ids) if ids else ([], [])
    delta = facts(*live)
    delta.subtract(facts(*_recorded(session, ids)) if ids else Counter())
    return Counter({key: n for key, n in delta.items() if n}), live


# --- the clock's side -----------------------------------------------------------------------


def _sum_key(key: Key) -> tuple[str, str, str, int]:
    kind, month, _, _, category, member = key
    return kind, month, category, member


def _tally_from_recorded() -> list[Select]:
    """figure_tally's rows from figure_wish and figure_claim (what `facts` counts, in SQL)."""
    none, nobody = _text(""), literal_column("0")
    area = (FigureWish.community_id, FigureWish.grid_id)
    selects = []
    for key in STAGE_KEYS:
        month = getattr(FigureWish, key)
        selects.append(select(_text(key), month, *area, none, nobody, func.count())
                       .where(month.is_not(None)).group_by(month, *area))
        selects.append(select(_text(key), _text(ALL_MONTHS), *area, none, nobody, func.count())
                       .where(month.is_not(None)).group_by(*area))
    month = FigureWish.collected
    selects.append(select(_text(CATEGORY), month, *area, FigureWish.category, nobody, func.count())
                   .where(month.is_not(None)).group_by(month, *area, FigureWish.category))
    selects.append(select(_text(CATEGORY), _text(ALL_MONTHS), *area, FigureWish.category, nobody, func.count())
                   .where(month.is_not(None)).group_by(*area, FigureWish.category))
    for kind in DURATIONS:
        bucket = getattr(FigureWish, kind)
        selects.append(select(_text(kind), _text(ALL_MONTHS), *area, cast(bucket, String), nobody, func.count())
                       .where(bucket.is_not(None)).group_by(*area, bucket))
    for kind, month in ((TAKEN, FigureClaim.taken), (DONE, FigureClaim.done)):
        selects.append(select(_text(kind), month, *area, none, FigureClaim.member_id, func.count())
                       .select_from(FigureClaim).join(FigureWish, FigureClaim.wish_id == FigureWish.wish_id)
                       .where(month.is_not(None)).group_by(month, *area, FigureClaim.member_id))
    return selects


def rebuild(session: Session, state: FigureState | None = None) -> FigureState:
    """Count everything again (the first time, or on demand), in the caller's transaction:
    first what is counted of each wish and claim, then the sums from those rows, so that
    they agree whatever commits meanwhile (a later change is in the next look's window)."""
    now = utcnow()  # before anything is read
    dialect = _dialect(session)
    max_id = session.scalar(select(func.max(Wish.id))) or 0
    for table in (FigureTally, FigureSum, FigureClaim, FigureWish):
        session.execute(delete(table))
    session.execute(insert(FigureWish).from_select([c.key for c in _RECORDED_WISH],
                                                   select(*_wish_columns(dialect)).where(Wish.id <= max_id)))
    session.execute(insert(FigureClaim).from_select(
        [c.key for c in _RECORDED_CLAIM],
        select(*_claim_columns(dialect)).where(Claim.wish_id.in_(select(FigureWish.wish_id)))))
    session.execute(insert(FigureTally).from_select([*TALLY_KEY, "n"], union_all(*_tally_from_recorded())))
    sums = [*SUM_KEY, "n"]
    session.execute(insert(FigureSum).from_select(sums, select(
        FigureTally.kind, FigureTally.month, FigureTally.category, FigureTally.member_id, func.sum(FigureTally.n))
        .group_by(FigureTally.kind, FigureTally.month, FigureTally.category, FigureTally.member_id)))
    # Claims per member in all months (the stages and categories have their `*` rows per area).
    session.execute(insert(FigureSum).from_select(sums, select(
        FigureTally.kind, _text(ALL_MONTHS), FigureTally.category, FigureTally.member_id, func.sum(FigureTally.n))
        .where(FigureTally.kind.in_(MEMBER_KINDS))
        .group_by(FigureTally.kind, FigureTally.category, FigureTally.member_id)))
    if dialect == "postgresql":  # the planner's statistics of tables just filled
        session.execute(text("ANALYZE figure_wish, figure_claim, figure_tally, figure_sum"))
    if state is None:
        state = FigureState(id=STATE_ID, built_at=now, max_wish_id=max_id)
        session.add(state)
    state.built_at, state.max_wish_id, state.rebuilt_at = now, max_id, now
    session.flush()
    return state


TALLY_KEY = ("kind", "month", "community_id", "grid_id", "category", "member_id")  # a Key's columns
SUM_KEY = ("kind", "month", "category", "member_id")
CHUNK = 500  # keys asked for in one statement


def _add(session: Session, model, key_columns: tuple[str, ...], counts: Counter) -> None:
    """Add each count to its row of `model` (keyed by `key_columns`), making the rows that are
    missing: the existing rows are read a chunk of keys at a time, not one query a key."""
    keys = [key for key, n in counts.items() if n]
    columns = tuple_(*(getattr(model, name) for name in key_columns))
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start:start + CHUNK]
        rows = {tuple(getattr(row, name) for name in key_columns): row
                for row in session.scalars(select(model).where(columns.in_(chunk)))}
        for key in chunk:
            if key in rows:
                rows[key].n += counts[key]
            else:
                session.add(model(**dict(zip(key_columns, key)), n=counts[key]))


def refresh(db: Database) -> int:
    """The clock's look: count again the wishes changed since the last one, add the
    difference to the stored rows and record what was counted. Returns how many (-1: built)."""
    with db.transaction() as session:
        state = session.scalar(select(FigureState).where(FigureState.id == STATE_ID).with_for_update())
        if state is None:
            rebuild(session)
            return -1
        now = utcnow()  # before anything is read
        max_id = session.scalar(select(func.max(Wish.id))) or 0
        ids = [i for i in changed_wishes(session, state) if i <= max_id]
        if len(ids) > MAX_CHANGED:
            rebuild(session, state)
            return -1
        delta, (wishes, claims) = _difference(session, ids)
        sums: Counter = Counter()
        for key, n in delta.items():
            kind, _, _, _, category, member = key
            sums[_sum_key(key)] += n
            if kind in MEMBER_KINDS:
                sums[(kind, ALL_MONTHS, category, member)] += n
        _add(session, FigureTally, TALLY_KEY, delta)
        _add(session, FigureSum, SUM_KEY, sums)
        if ids:
            session.execute(delete(FigureClaim).where(FigureClaim.wish_id.in_(ids)))
            session.execute(delete(FigureWish).where(FigureWish.wish_id.in_(ids)))
            session.execute(insert(FigureWish), [dict(zip([c.key for c in _RECORDED_WISH], row)) for row in wishes])
            if claims:
                session.execute(insert(FigureClaim), [dict(zip([c.key for c in _RECORDED_CLAIM], row))
                                                      for row in claims])
        state.built_at, state.max_wish_id = now, max_id
        return len(ids)


# --- the reader's side ----------------------------------------------------------------------


@dataclass
class Rollup:
    """The roll-up as a reader sees it: the stored rows, corrected by `delta` (for each wish
    changed since the last look, its rows counted now less those counted then); for the whole
    city from figure_sum, for a community or a grid from its areas' figure_tally rows."""

    delta: Counter = field(default_factory=Counter)
    community: int | None = None  # the reader's area: a community, or a grid, or (neither) all
    grid: int | None = None
    built_at: datetime | None = None  # the look the reader started from

    @classmethod
    def load(cls, session: Session, community: int | None = None, grid: int | None = None) -> "Rollup | None":
        """None when the clock has not built it yet (the caller counts directly)."""
        state = session.get(FigureState, STATE_ID)
        if state is None:
            return None
        changed = changed_wishes(session, state)
        if len(changed) > MAX_CHANGED:
            return None
        delta, _ = _difference(session, changed)
        area = cls(Counter(), community, grid)
        return cls(Counter({key: n for key, n in delta.items() if area._holds(key)}), community, grid,
                   state.built_at)

    def still_current(self, session: Session) -> bool:
        """Whether no look committed while this reader read (on PostgreSQL each statement sees
        the latest commit: the stored rows and the correction must come from the same look)."""
        return session.scalar(select(FigureState.built_at).where(FigureState.id == STATE_ID)) == self.built_at

    def _holds(self, key: Key) -> bool:
        if self.grid is not None:
            return key[3] == self.grid
        return self.community is None or key[2] == self.community

    def _source(self, kinds, month: str | None):
        """(table, conditions) for rows of these kinds in the month (`*`: all months; None: no
        condition on the month)."""
        if self.community is None and self.grid is None:
            table, conditions = FigureSum, [FigureSum.kind.in_(kinds)]
        else:
            table, conditions = FigureTally, [FigureTally.kind.in_(kinds), self._area_condition()]
            if month == ALL_MONTHS and set(kinds) <= set(MEMBER_KINDS):
                month = None  # an area's claims have no `*` rows: every month summed
        if month is not None:
            conditions.append(table.month == month)
        return table, conditions

    def _area_condition(self):
        if self.grid is not None:
            return FigureTally.grid_id == self.grid
        if self.community is not None:
            return FigureTally.community_id == self.community
        return true()

    def _changes(self, kinds, month: str | None):
        """Corrections of these kinds in this month (None: every month, for member kinds)."""
        for key, n in self.delta.items():
            if key[0] in kinds and (month is None or key[1] == month):
                yield key, n

    # Stage counts ---------------------------------------------------------------------

    def stage_totals(self, session: Session, month: str) -> Counter:
        totals = Counter({key: 0 for key in STAGE_KEYS})
        table, where = self._source(STAGE_KEYS, month)
        for kind, n in session.execute(select(table.kind, func.sum(table.n)).where(*where).group_by(table.kind)):
            totals[kind] += n
        for key, n in self._changes(STAGE_KEYS, month):
            totals[key[0]] += n
        return totals

    def monthly(self, session: Session, months: list[str]) -> dict[str, Counter]:
        monthly: dict[str, Counter] = {m: Counter() for m in months}
        table, where = self._source(STAGE_KEYS, None)
        for kind, month, n in session.execute(
                select(table.kind, table.month, func.sum(table.n)).where(*where, table.month.in_(months))
                .group_by(table.kind, table.month)):
            monthly[month][kind] += n
        for key, n in self.delta.items():
            if key[0] in STAGE_KEYS and key[1] in monthly:
                monthly[key[1]][key[0]] += n
        return {m: +counts for m, counts in monthly.items()}

    def areas(self, session: Session, month: str) -> tuple[dict, set]:
        """(counts per area in the month, in STAGES order; the areas with any wish at all)."""
        by_stage = [func.sum(case((FigureTally.kind == key, FigureTally.n), else_=0)) for key in STAGE_KEYS]
        found = {(community, grid): list(counts) for community, grid, *counts in session.execute(
            select(FigureTally.community_id, FigureTally.grid_id, *by_stage)
            .where(FigureTally.month == month, FigureTally.kind.in_(STAGE_KEYS), self._area_condition())
            .group_by(FigureTally.community_id, FigureTally.grid_id))}
        present = dict(((community, grid), n) for community, grid, n in session.execute(
            select(FigureTally.community_id, FigureTally.grid_id, FigureTally.n)
            .where(FigureTally.month == ALL_MONTHS, FigureTally.kind == "collected", self._area_condition())))
        index = {key: i for i, key in enumerate(STAGE_KEYS)}
        for (kind, row_month, community, grid, _, _), n in self.delta.items():
            if kind in index and row_month == month:
                found.setdefault((community, grid), [0] * len(STAGE_KEYS))[index[kind]] += n
            if kind == "collected" and row_month == ALL_MONTHS:
                present[(community, grid)] = present.get((community, grid), 0) + n
        rows = {(c, g or None): counts for (c, g), counts in found.items() if any(counts)}
        return rows, {(c, g or None) for (c, g), n in present.items() if n > 0}

    def categories(self, session: Session, month: str) -> list[tuple[str, int]]:
        counts: Counter = Counter()
        table, where = self._source((CATEGORY,), month)
        for category, n in session.execute(select(table.category, func.sum(table.n)).where(*where)
                                           .group_by(table.category)):
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

    def _per_member(self, kinds, month: str):
        """(member_id, taken, done) rows, one per member and kind (figure_sum has one row per
        member, kind and month: nothing to group); an area's summed over its grids and months."""
        table, where = self._source(kinds, month)
        taken = case((table.kind == TAKEN, table.n), else_=0)
        done = case((table.kind == DONE, table.n), else_=0)
        if table is FigureSum:
            return select(table.member_id.label("member_id"), taken.label("taken"),
                          done.label("done")).where(*where).subquery()
        return (select(table.member_id.label("member_id"), func.sum(taken).label("taken"),
                       func.sum(done).label("done")).where(*where).group_by(table.member_id).subquery())

    def units(self, session: Session, month: str) -> list[tuple[str, int, int]]:
        """Per unit (the member's own now; 个人 without one), by unit id and then named: a
        city's twenty thousand members are grouped on an integer, not sorted by a name."""
        rows = self._per_member(MEMBER_KINDS, month)
        by_unit: dict[int | None, list[int]] = {}
        for unit_id, claims, completed in session.execute(
                select(Person.unit_id, func.sum(rows.c.taken), func.sum(rows.c.done)).select_from(rows)
                .join(Person, rows.c.member_id == Person.id).group_by(Person.unit_id)):
            by_unit[unit_id] = [claims, completed]
        changes = self._member_changes(month)
        if changes:
            for member, unit_id in session.execute(select(Person.id, Person.unit_id)
                                                   .where(Person.id.in_(sorted(changes)))):
                row = by_unit.setdefault(unit_id, [0, 0])
                row[0] += changes[member][TAKEN]
                row[1] += changes[member][DONE]
        names = dict(session.execute(select(Unit.id, Unit.name).where(Unit.id.in_([u for u in by_unit if u]))).all())
        counts: dict[str, list[int]] = {}
        for unit_id, (claims, completed) in by_unit.items():
            row = counts.setdefault(names.get(unit_id, NO_UNIT) if unit_id else NO_UNIT, [0, 0])
            row[0] += claims
            row[1] += completed
        result = [(name, claims, completed) for name, (claims, completed) in counts.items() if claims or completed]
        return sorted(result, key=lambda r: (-r[2], -r[1], r[0]))

    def honour_roll(self, session: Session, month: str, limit: int) -> list[tuple[str, str, int]]:
        """The top `limit` by completions: the stored top, widened by as many as were changed
        (a changed member may fall out), merged with the changed members' own counts. Only the
        members at or above the widened top's last count are joined and sorted by name."""
        changes = {member: c[DONE] for member, c in self._member_changes(month).items() if c[DONE]}
        unit = func.coalesce(Unit.name, NO_UNIT)
        rows = self._per_member((DONE,), month)
        wanted = limit + len(changes)
        least = session.scalar(select(rows.c.done).where(rows.c.done > 0).order_by(rows.c.done.desc())
                               .offset(wanted - 1).limit(1)) or 1
        base = (select(Person.id, Person.name, unit, rows.c.done).select_from(rows)
                .join(Person, rows.c.member_id == Person.id).outerjoin(Unit, Person.unit_id == Unit.id))
        members = {pid: [name, unit_name, n] for pid, name, unit_name, n in session.execute(
            base.where(rows.c.done >= least).order_by(rows.c.done.desc(), Person.name, Person.id).limit(wanted))}
        if changes:
            stored = {pid: n for pid, _, _, n in session.execute(base.where(Person.id.in_(sorted(changes))))}
            for pid, name, unit_name in session.execute(
                    select(Person.id, Person.name, unit).outerjoin(Unit, Person.unit_id == Unit.id)
                    .where(Person.id.in_(sorted(changes)))):
                members[pid] = [name, unit_name, stored.get(pid, 0) + changes[pid]]
        ranked = sorted(((name, pid, unit_name, n) for pid, (name, unit_name, n) in members.items() if n > 0),
                        key=lambda r: (-r[3], r[0], r[1]))
        return [(name, unit_name, n) for name, _, unit_name, n in ranked[:limit]]

    # Medians of all months (PostgreSQL) -------------------------------------------------------

    def median_hours(self, session: Session, kind: str) -> float | None:
        """percentile_cont(0.5) over every duration of the kind: the buckets' counts find the
        bucket of each middle row and its place there; the index reads it."""
        counts: Counter = Counter()
        table, where = self._source((kind,), ALL_MONTHS)
        for bucket, n in session.execute(select(table.category, func.sum(table.n)).where(*where)
                                         .group_by(table.category)):
            counts[int(bucket)] += n
        for key, n in self._changes((kind,), ALL_MONTHS):
            counts[int(key[4])] += n
        total = sum(counts.values())
        if not total:
            return None
        start, end = DURATIONS[kind]
        seconds = duration_seconds(start, end)
        condition = and_(getattr(Wish, start).is_not(None), getattr(Wish, end).is_not(None))
        if self.grid is not None:
            condition = and_(condition, Wish.grid_id == self.grid)
        elif self.community is not None:
            condition = and_(condition, Wish.community_id == self.community)

        def middle(ranks: list[int]) -> list[float]:
            """The durations at these ranks (one or two neighbours): one indexed read a bucket."""
            below, found = 0, []
            for bucket in sorted(counts):
                inside = [r - below for r in ranks if below <= r < below + counts[bucket]]
                if inside:
                    found += session.scalars(select(seconds).where(condition, duration_bucket(seconds) == bucket)
                                             .order_by(seconds).offset(inside[0]).limit(len(inside))).all()
                below += counts[bucket]
            return found

        low, high = (total - 1) // 2, total // 2
        first, second = (middle([low]) * 2) if high == low else middle([low, high])
        return (first + (second - first) * 0.5) / 3600
