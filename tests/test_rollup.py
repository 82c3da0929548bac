"""The figures' roll-up (bot/rollup.py): an admin's figures read from it, corrected for what
changed since the clock's last look, equal the figures counted directly — before a look, right
after one, and long after, with changes on both sides of a month's end — on SQLite and
PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot import figures, rollup
from bot.db import Database
from handlers.context import Context
from models import FigureState, FigureSum, FigureTally, Person, Unit, Wish, WishEvent, utcnow
from models.wish import ACTIVE, CLAIMED, COMPLETED, PUBLISHED

from .test_figures_sql import MEMBERS, city  # noqa: F401 (city: the fixture)

MONTHS = ("2026-11", "2026-10", "2025-02", None)


def _areas(session) -> list[tuple[figures.Narrow, figures.Area | None]]:
    """Everything, a community with grids, a community without, a grid."""
    xincheng = session.scalar(select(Person.community_id).where(Person.openid == "o-r0"))
    far = session.scalar(select(Person.community_id).where(Person.openid == "o-far"))
    grid = session.scalar(select(Person.grid_id).where(Person.openid == "o-r1"))
    return [(figures.everything, None),
            (figures.where(Wish.community_id == xincheng), figures.Area(community=xincheng)),
            (figures.where(Wish.community_id == far), figures.Area(community=far)),
            (figures.where(Wish.grid_id == grid), figures.Area(grid=grid))]


def assert_rollup_is_exact(db: Database, now=None) -> None:
    now = now or utcnow()
    months = (*MONTHS, figures.recent_months(figures.local_time(now))[-1])
    with db.sessions() as session:
        assert rollup.Rollup.load(session) is not None
        for (narrow, area), month in ((a, m) for a in _areas(session) for m in months):
            got = figures.compute(session, narrow, month, now, area=area)
            want = figures.compute(session, narrow, month, now, rolled_up=False)
            for m in want.months:
                assert got.monthly_for(m) == want.monthly_for(m), (area, month, m)
            assert got == want, (area, month)


def _pass_time(db: Database) -> None:
    """As if the clock's last look came long after every change so far: the timeline is moved
    back by more than GRACE, so nothing is counted live any more."""
    with db.transaction() as session:
        for event in session.scalars(select(WishEvent)):
            event.created_at = event.created_at - rollup.GRACE - timedelta(minutes=1)


def _change_across_the_month(db: Database) -> None:
    """Through the one mutation path (Context.change, with its timeline rows): a claim of an
    old month given up (the wish's claimed_at and the claim's month both in a closed month),
    an old wish recategorised, a claim completed and a wish confirmed now, a new wish, a new
    claim; and a member moved to another unit (no timeline: the unit is joined when read)."""
    with db.transaction() as session:
        ctx = Context.system(session)
        claimed = session.scalars(select(Wish).where(Wish.status == CLAIMED).order_by(Wish.claimed_at)).all()
        old = claimed[0]
        member = next(c.member for c in old.claims if c.status == ACTIVE)
        ctx.change(old, "release", lambda: old.release(member))
        done = claimed[1]
        doer = next(c.member for c in done.claims if c.status == ACTIVE)
        ctx.change(done, "complete", lambda: done.complete_by(doer, "好了"))
        oldest = session.scalar(select(Wish).order_by(Wish.created_at))
        ctx.change(oldest, "category", lambda: oldest.describe_as(category="助残"))
        completed = session.scalar(select(Wish).where(Wish.status == COMPLETED).order_by(Wish.id))
        ctx.change(completed, "confirm", lambda: completed.confirm(completed.requester, "谢谢", 5))
        requester = session.scalar(select(Person).where(Person.openid == "o-r0"))
        wish = Wish(content="新心愿", requester=requester, community_id=requester.community_id,
                    grid_id=requester.grid_id, category="学习")
        session.add(wish)
        session.flush()
        ctx.change(wish, "submit", new=True)
        ctx.change(wish, "publish", lambda: wish.publish_directly(None))
        open_wish = session.scalar(select(Wish).where(Wish.status == PUBLISHED).order_by(Wish.id))
        someone = session.scalar(select(Person).where(Person.name == MEMBERS[-1]))
        if someone.id != open_wish.requester_id:
            ctx.change(open_wish, "claim", lambda: open_wish.claim_by(someone))
        mover = session.scalar(select(Person).where(Person.name == MEMBERS[0]))
        mover.unit_id = session.scalar(select(Unit.id).where(Unit.name == "市司法局"))


def test_the_rollup_equals_the_direct_count_before_and_after_the_clocks_look(city):
    with city.sessions() as session:
        assert rollup.Rollup.load(session) is None  # not built: the page counts directly
    assert rollup.refresh(city) == -1  # the first look builds it
    assert_rollup_is_exact(city)
    _pass_time(city)
    assert_rollup_is_exact(city)  # straight from the stored rows

    _change_across_the_month(city)
    assert_rollup_is_exact(city)  # the changed areas counted live
    assert rollup.refresh(city) > 0
    assert_rollup_is_exact(city)
    _pass_time(city)
    with city.sessions() as session:
        assert rollup.Rollup.load(session).delta == {}
    assert_rollup_is_exact(city)  # the look wrote the changes into the stored rows

    _change_across_the_month(city)  # and once more, on top of an incremental look
    assert rollup.refresh(city) > 0
    _pass_time(city)
    assert_rollup_is_exact(city)


def test_a_look_and_a_rebuild_store_the_same_rows(city):
    rollup.refresh(city)
    _pass_time(city)
    _change_across_the_month(city)
    rollup.refresh(city)

    def stored():
        with city.sessions() as session:
            tally = sorted(tuple(r) for r in session.execute(select(
                FigureTally.kind, FigureTally.month, FigureTally.community_id, FigureTally.grid_id,
                FigureTally.category, FigureTally.member_id, FigureTally.n).where(FigureTally.n != 0)))
            sums = sorted(tuple(r) for r in session.execute(select(
                FigureSum.kind, FigureSum.month, FigureSum.category, FigureSum.member_id, FigureSum.n)
                .where(FigureSum.n != 0)))
            return tally, sums

    incremental = stored()
    with city.transaction() as session:
        rollup.rebuild(session, session.get(FigureState, rollup.STATE_ID))
    assert stored() == incremental


def test_the_clock_looks_every_minute():
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from bot.clock import Clock, memory_claims
    from bot.settings import Settings

    made = []

    class Calls:
        def call(self, name, arg, delay=0):
            made.append((name, arg))

    clock = Clock(Settings(), Calls(), memory_claims())
    zone = ZoneInfo("Asia/Shanghai")
    for minute, second in ((0, 0), (0, 30), (0, 59), (1, 0), (3, 10)):
        clock.tick(datetime(2026, 12, 1, 9, minute, second, tzinfo=zone))
    assert len([arg for name, arg in made if name == "refresh_figures"]) == 3


def test_too_many_changes_count_directly_and_the_next_look_rebuilds(city, monkeypatch):
    rollup.refresh(city)
    _pass_time(city)
    _change_across_the_month(city)
    monkeypatch.setattr(rollup, "MAX_CHANGED", 1)
    with city.sessions() as session:
        assert rollup.Rollup.load(session) is None  # the page counts directly
    assert rollup.refresh(city) == -1  # rebuilt
    monkeypatch.setattr(rollup, "MAX_CHANGED", 5000)
    assert_rollup_is_exact(city)


def test_a_look_committed_while_a_page_reads_is_noticed(city, monkeypatch):
    """The stored rows and the correction must come from one look: a page that straddles a look's
    commit counts again (and, should that happen twice, directly). PostgreSQL only: on SQLite a
    page's transaction holds the write lock, so no look can commit while it reads."""
    if city.is_sqlite:
        pytest.skip("no look commits while a SQLite page reads")
    rollup.refresh(city)
    _pass_time(city)
    _change_across_the_month(city)
    looks = []
    monthly = rollup.Rollup.monthly

    def look_meanwhile(self, session, months):
        if not looks:
            looks.append(rollup.refresh(city))  # commits in its own transaction
        return monthly(self, session, months)

    monkeypatch.setattr(rollup.Rollup, "monthly", look_meanwhile)
    now = utcnow()
    with city.sessions() as session:
        got = figures.compute(session, figures.everything, None, now)
        want = figures.compute(session, figures.everything, None, now, rolled_up=False)
    assert looks and looks[0] > 0
    assert got == want
