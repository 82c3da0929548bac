"""The figures computed by SQL (bot.figures) equal what the old Python loop computed over every
wish, on a small generated city, on SQLite and on PostgreSQL."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from statistics import median

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot import figures
from bot.db import Database
from handlers import directory
from models import Claim, Grid, Person, Wish, local_time
from models.wish import ACTIVE, COMPLETED, RELEASED

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
MEMBERS = ("李建国", "陈晓梅", "张伟", "王芳", "刘洋", "杨静", "赵磊")  # fewer than the honour roll's 20


# --- the reference: the Python loop the dashboard used before (web/figures.py `compute`) -------


def _month_of(moment):
    return local_time(moment).strftime("%Y-%m") if moment else None


def _in(month, moment):
    return moment is not None and (month is None or _month_of(moment) == month)


def _hours(start, end):
    if start is None or end is None:
        return None
    return (local_time(end) - local_time(start)).total_seconds() / 3600


def reference(wishes: list[Wish], month: str | None) -> dict:
    monthly: dict[str, Counter] = defaultdict(Counter)
    areas: dict[tuple[str, str], Counter] = {}
    categories, unit_claims, unit_done, member_done = Counter(), Counter(), Counter(), Counter()
    member_unit, to_claim, to_complete = {}, [], []
    for wish in wishes:
        keys = [("社区", wish.community.name)]
        if wish.community.street:
            keys.insert(0, ("街道", wish.community.street.name))
        if wish.grid:
            keys.append(("网格", wish.grid.label))
        for key in keys:
            areas.setdefault(key, Counter())
        for key, _, attr in figures.STAGES:
            moment = getattr(wish, attr)
            if moment is None:
                continue
            monthly[_month_of(moment)][key] += 1
            if _in(month, moment):
                for area in keys:
                    areas[area][key] += 1
        if _in(month, wish.created_at):
            categories[wish.category or "未分类"] += 1
        if _in(month, wish.claimed_at) and (h := _hours(wish.published_at, wish.claimed_at)) is not None:
            to_claim.append(h)
        if _in(month, wish.completed_at) and (h := _hours(wish.claimed_at, wish.completed_at)) is not None:
            to_complete.append(h)
        for claim in wish.claims:
            unit = claim.member.unit.name if claim.member.unit else "个人"
            if claim.status != RELEASED and _in(month, claim.created_at):
                unit_claims[unit] += 1
            if claim.status == COMPLETED and _in(month, claim.ended_at):
                unit_done[unit] += 1
                member_done[claim.member.name] += 1
                member_unit[claim.member.name] = unit
    order = {"街道": 0, "社区": 1, "网格": 2}
    return {
        "monthly": monthly,
        "totals": sum(monthly.values(), Counter()) if month is None else monthly.get(month, Counter()),
        "areas": [(level, name, +counts) for (level, name), counts in
                  sorted(areas.items(), key=lambda item: (order[item[0][0]], item[0][1]))],
        "units": sorted(((u, unit_claims[u], unit_done[u]) for u in set(unit_claims) | set(unit_done)),
                        key=lambda r: (-r[2], -r[1], r[0])),
        # The loop ranked ties in the order it met them; the SQL ranks ties by name.
        "members": sorted(((name, member_unit[name], n) for name, n in member_done.items()),
                          key=lambda r: (-r[2], r[0])),
        "categories": sorted(categories.items(), key=lambda r: (-r[1], r[0])),
        "median_claim_hours": median(to_claim) if to_claim else None,
        "median_complete_hours": median(to_complete) if to_complete else None,
    }


# --- a small city with three years of wishes -----------------------------------------------


def build_city(db: Database, seed: int = 13) -> None:
    rng = random.Random(seed)
    with db.transaction() as s:
        directory.add_community(s, "新城社区", "新兴街道")
        directory.add_community(s, "东山社区", "新兴街道")
        directory.add_community(s, "西河社区", "向阳街道")
        directory.add_community(s, "无街道社区")
        for community in ("新城社区", "东山社区", "西河社区"):
            for grid in ("第一网格", "第二网格"):
                directory.add_grid(s, community, grid)
        directory.add_unit(s, "市税务局")
        directory.add_unit(s, "市司法局")
        for i in range(6):
            directory.add_person(s, f"o-r{i}", "resident", f"居民{i}", grid=("新城社区/第一网格", "东山社区/第二网格",
                                 "西河社区/第一网格")[i % 3])
        directory.add_person(s, "o-far", "resident", "远方", community="无街道社区")
        for i, name in enumerate(MEMBERS):
            unit = ("市税务局", "市司法局", None)[i % 3]
            directory.add_person(s, f"o-m{i}", "member", name, community="新城社区", unit=unit)
        s.flush()
        residents = s.scalars(select(Person).where(Person.roles == "resident")).all()
        members = s.scalars(select(Person).where(Person.roles == "member")).all()
        categories = ("生活用品", "助老", "学习", None)
        for _ in range(400):
            requester = rng.choice(residents)
            created = NOW - timedelta(days=rng.uniform(0, 3 * 365), microseconds=rng.randrange(10**6))
            wish = Wish(content="心愿", requester=requester, community_id=requester.community_id,
                        grid_id=requester.grid_id, category=rng.choice(categories), created_at=created,
                        status="pending_review")
            s.add(wish)
            stage = rng.random()
            if stage < 0.15:
                continue
            wish.status = "published"
            wish.published_at = created + timedelta(hours=rng.uniform(0.1, 100))
            if stage < 0.3:
                if rng.random() < 0.5:  # a claim given up
                    s.add(Claim(wish=wish, member=rng.choice(members), status=RELEASED,
                                created_at=wish.published_at + timedelta(hours=2),
                                ended_at=wish.published_at + timedelta(days=3)))
                continue
            member = rng.choice(members)
            claimed = wish.published_at + timedelta(hours=rng.uniform(0.01, 400))
            wish.status, wish.claimed_at = "claimed", claimed
            claim = Claim(wish=wish, member=member, status=ACTIVE, created_at=claimed)
            s.add(claim)
            if stage < 0.5:
                continue
            wish.status = "completed"
            wish.completed_at = claim.ended_at = claimed + timedelta(hours=rng.uniform(0.5, 900))
            claim.status = COMPLETED
            if stage < 0.7:
                continue
            wish.status, wish.confirmed_at = "confirmed", wish.completed_at + timedelta(days=rng.uniform(0, 9))


@pytest.fixture
def city(database_url):
    db = Database(database_url)
    build_city(db)
    yield db
    db.dispose()


def loaded_wishes(session, narrow) -> list[Wish]:
    query = select(Wish).options(
        selectinload(Wish.community), selectinload(Wish.grid).selectinload(Grid.community),
        selectinload(Wish.claims).selectinload(Claim.member).selectinload(Person.unit))
    return list(session.scalars(narrow(query)))


def assert_same(session, narrow, month):
    expected = reference(loaded_wishes(session, narrow), month)
    got = figures.compute(session, narrow, month, NOW)
    for m in got.months:
        assert got.monthly_for(m) == +expected["monthly"].get(m, Counter()), m
    assert +got.totals == +expected["totals"]
    assert [(a.level, a.name, +a.counts) for a in got.areas] == expected["areas"]
    assert got.units == expected["units"]
    assert got.members == expected["members"]
    assert got.categories == expected["categories"]
    for key in ("median_claim_hours", "median_complete_hours"):
        want, have = expected[key], getattr(got, key)
        assert (want is None) == (have is None), key
        if want is not None:  # PostgreSQL interpolates in seconds; the loop averaged hours
            assert have == pytest.approx(want, rel=1e-12, abs=1e-9), key


@pytest.mark.parametrize("month", ["2026-11", "2026-10", "2025-02", "2023-12", None])
def test_sql_figures_equal_the_python_loop(city, month):
    with city.sessions() as session:
        assert_same(session, figures.everything, month)


def test_sql_figures_equal_the_python_loop_in_a_community_and_a_grid(city):
    with city.sessions() as session:
        community = session.scalar(select(Person.community_id).where(Person.openid == "o-r1"))
        grid = session.scalar(select(Person.grid_id).where(Person.openid == "o-r2"))
        for narrow in (figures.where(Wish.community_id == community), figures.where(Wish.grid_id == grid)):
            for month in ("2026-06", None):
                assert_same(session, narrow, month)


def test_the_city_has_every_kind_of_figure(city):
    """The fixture is not empty where it matters: a month has claims, completions, ties."""
    with city.sessions() as session:
        got = figures.compute(session, figures.everything, None, NOW)
    assert got.totals["confirmed"] > 50 and len(got.members) == len(MEMBERS)
    assert {"个人", "市税务局", "市司法局"} == {u for u, _, _ in got.units}
    assert ("社区", "无街道社区") in {(a.level, a.name) for a in got.areas}
    assert got.median_claim_hours > 0 and got.median_complete_hours > 0


def test_a_month_is_local():
    period = figures.month_period("2026-12")
    assert period.start == datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    assert period.end == datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)
