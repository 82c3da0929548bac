"""A generated city on PostgreSQL, made by the database itself (generate_series), not the ORM:
5 streets × 20 communities × 10 grids, 50 partner units, residents, members and grid workers,
and `wishes` wishes over three years in every state, with their claims, timelines, notices and
processed messages in proportion (per wish about 1 claim, 4 timeline events, 9 notices and 7
processed messages, as measured on 2026-11-30)."""
from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.db import Database
from web.auth import add_staff

STREETS, COMMUNITIES_PER_STREET, GRIDS_PER_COMMUNITY, UNITS = 5, 20, 10, 50
COMMUNITIES = STREETS * COMMUNITIES_PER_STREET
GRIDS = COMMUNITIES * GRIDS_PER_COMMUNITY
NOTICES_PER_WISH, MESSAGES_PER_WISH = 9, 7
STAFF_PASSWORD = "bench-password-1"
ADMIN, COMMUNITY_STAFF = "bench-admin", "bench-community"  # the community login sees 社区1
CATEGORIES = ("生活用品", "助老", "助残", "学习", "医疗", "维修")


def people_counts(wishes: int) -> tuple[int, int]:
    """(residents, members): each resident asks about five times in three years."""
    residents = max(GRIDS, wishes // 5 // GRIDS * GRIDS)
    members = max(COMMUNITIES * 5, wishes // 50 // COMMUNITIES * COMMUNITIES)
    return residents, members


def _areas(c: Connection) -> None:
    c.execute(text("INSERT INTO street (id, name) SELECT s, '街道' || s FROM generate_series(1, :n) s"),
              {"n": STREETS})
    c.execute(text("""INSERT INTO community (id, name, street_id, robot_url, review_required)
        SELECT i, '社区' || i, (i - 1) / :per + 1, NULL, true FROM generate_series(1, :n) i"""),
              {"n": COMMUNITIES, "per": COMMUNITIES_PER_STREET})
    c.execute(text("""INSERT INTO grid (id, community_id, name, robot_url)
        SELECT i, (i - 1) / :per + 1, '第' || ((i - 1) % :per + 1) || '网格', NULL FROM generate_series(1, :n) i"""),
              {"n": GRIDS, "per": GRIDS_PER_COMMUNITY})
    c.execute(text("INSERT INTO unit (id, name) SELECT i, '共建单位' || i FROM generate_series(1, :n) i"),
              {"n": UNITS})


def _people(c: Connection, residents: int, members: int) -> None:
    """Ids: residents 1..R (resident k lives in grid (k-1) % GRIDS + 1), members R+1..R+M
    (member j in community (j-1) % COMMUNITIES + 1), grid workers after them (one a grid),
    then the admin."""
    c.execute(text("""INSERT INTO person (id, openid, name, phone, address, roles, community_id, grid_id, unit_id, created_at)
        SELECT k, 'r-' || k, '居民' || k, '138' || lpad(k::text, 8, '0'), '小区' || k || '号', 'resident',
               ((k - 1) % :grids) / :gpc + 1, (k - 1) % :grids + 1, NULL, now() - interval '1100 days'
        FROM generate_series(1, :n) k"""), {"n": residents, "grids": GRIDS, "gpc": GRIDS_PER_COMMUNITY})
    c.execute(text("""INSERT INTO person (id, openid, name, phone, roles, community_id, unit_id, created_at)
        SELECT :r + j, 'm-' || j, '党员' || j, '139' || lpad(j::text, 8, '0'), 'member',
               (j - 1) % :communities + 1, CASE WHEN j % 10 = 0 THEN NULL ELSE (j - 1) % :units + 1 END,
               now() - interval '1100 days'
        FROM generate_series(1, :m) j"""), {"r": residents, "m": members, "communities": COMMUNITIES, "units": UNITS})
    c.execute(text("""INSERT INTO person (id, openid, name, roles, community_id, grid_id, created_at)
        SELECT :base + g, 'g-' || g, '网格员' || g, 'gridworker', (g - 1) / :gpc + 1, g, now() - interval '1100 days'
        FROM generate_series(1, :grids) g"""), {"base": residents + members, "grids": GRIDS, "gpc": GRIDS_PER_COMMUNITY})
    c.execute(text("INSERT INTO person (id, openid, name, roles, created_at) VALUES (:id, 'admin', '管理员', 'admin', now())"),
              {"id": residents + members + GRIDS + 1})


# Every wish in one statement: its state depends on its age (old ones are mostly done; the
# clock would have released any claim idle for 14 days, so active claims are recent).
WISHES = """
INSERT INTO wish (id, content, status, slots, category, urgency, kind, beneficiaries, requester_id,
                  community_id, grid_id, reviewed_by_id, published_at, claimed_at, completed_at,
                  confirmed_at, rating, created_at)
SELECT i, '需要帮助' || i || (ARRAY['：一副老花镜','：修理水龙头','：孩子的书包','：上门理发','：一台收音机'])[i % 5 + 1],
       status, 1, (CAST(:categories AS text[]))[i % 6 + 1], 1 + i % 4, 'individual', 1, requester, community, grid,
       CASE WHEN published IS NOT NULL THEN :gridworkers + grid END,
       published, claimed, completed, confirmed,
       CASE WHEN confirmed IS NOT NULL THEN 3 + i % 3 END, created
FROM (
  SELECT i, created, status, grid, (grid - 1) / :gpc + 1 AS community,
         grid + :grids * floor(r3 * :per_grid)::int AS requester,
         CASE WHEN status NOT IN ('pending_review', 'rejected', 'withdrawn') THEN published END AS published,
         CASE WHEN status IN ('claimed', 'completed', 'confirmed') THEN claimed END AS claimed,
         CASE WHEN status IN ('completed', 'confirmed') THEN completed END AS completed,
         CASE WHEN status = 'confirmed' THEN confirmed END AS confirmed
  FROM (
    SELECT *, LEAST(claimed + (0.5 + r4 * 240) * interval '1 hour', now()) AS completed,
              LEAST(claimed + (1 + r4 * 300) * interval '1 hour', now()) AS confirmed
    FROM (
      SELECT *, CASE WHEN status = 'claimed' THEN now() - r4 * LEAST(now() - published, interval '13 days')
                     ELSE LEAST(published + (0.1 + r4 * 120) * interval '1 hour', now()) END AS claimed
      FROM (
        SELECT *, LEAST(created + (0.1 + r2 * 48) * interval '1 hour', now()) AS published,
               CASE WHEN created < now() - interval '30 days' THEN
                      CASE WHEN r < 0.85 THEN 'confirmed' WHEN r < 0.91 THEN 'completed'
                           WHEN r < 0.94 THEN 'rejected' WHEN r < 0.97 THEN 'withdrawn'
                           WHEN r < 0.99 THEN 'published' ELSE 'pending_review' END
                    ELSE CASE WHEN r < 0.2 THEN 'pending_review' WHEN r < 0.4 THEN 'published'
                              WHEN r < 0.6 THEN 'claimed' WHEN r < 0.8 THEN 'completed' ELSE 'confirmed' END
               END AS status
        FROM (
          SELECT i, now() - random() * interval '1095 days' AS created, random() AS r, random() AS r2,
                 random() AS r3, random() AS r4, 1 + floor(random() * :grids)::int AS grid
          FROM generate_series(1, :n) i
        ) base
      ) staged
    ) timed
  ) done
) wishes
"""

# One claim per claimed wish (its id is the wish's), taken by a member of the wish's community;
# one in ten published wishes also had a claim given up.
CLAIMS = """
INSERT INTO claim (id, wish_id, member_id, unit_id, status, ended_at, reminded_at, created_at)
SELECT w.id, w.id, m.id, m.unit_id,
       CASE w.status WHEN 'claimed' THEN 'active' WHEN 'published' THEN 'released' ELSE 'completed' END,
       CASE WHEN w.status = 'published' THEN w.published_at + interval '3 days' ELSE w.completed_at END,
       CASE WHEN w.status = 'claimed' AND w.claimed_at < now() - interval '3 days' THEN w.claimed_at + interval '3 days' END,
       COALESCE(w.claimed_at, w.published_at + interval '2 hours')
FROM wish w
JOIN person m ON m.id = :residents + w.community_id + :communities * (w.id % (:members / :communities))
WHERE w.status IN ('claimed', 'completed', 'confirmed') OR (w.status = 'published' AND w.id % 10 = 0)
"""

# The timeline: submit, publish, claim, complete, confirm, as far as each wish got.
EVENTS = """
INSERT INTO wish_event (wish_id, actor_id, channel, action, before, after, note, created_at)
SELECT w.id, CASE s.k WHEN 1 THEN w.requester_id WHEN 2 THEN w.reviewed_by_id WHEN 5 THEN w.requester_id
                      ELSE c.member_id END,
       'wechat', (ARRAY['submit','publish','claim','complete','confirm'])[s.k],
       (ARRAY[NULL,'pending_review','published','claimed','completed'])[s.k],
       (ARRAY['pending_review','published','claimed','completed','confirmed'])[s.k],
       NULL,
       (ARRAY[w.created_at, w.published_at, w.claimed_at, w.completed_at, w.confirmed_at])[s.k]
FROM wish w CROSS JOIN generate_series(1, 5) AS s(k)
LEFT JOIN claim c ON c.id = w.id
WHERE (ARRAY[w.created_at, w.published_at, w.claimed_at, w.completed_at, w.confirmed_at])[s.k] IS NOT NULL
ORDER BY w.id, s.k
"""

NOTICES = """
INSERT INTO notice (event, wish_id, person_id, audience, channel, target, text, status, attempts,
                    sent_at, parts_sent, created_at)
SELECT (ARRAY['submitted','published','claimed','claimed','completed','completed','confirmed','digest','reminder'])[k],
       w.id, CASE WHEN k % 3 = 0 THEN w.requester_id END, CASE WHEN k % 3 = 0 THEN 'private' ELSE 'group' END,
       'log', 'bench', '心愿#' || w.id || ' 的通知 ' || k, 'sent', 1, w.created_at + k * interval '1 hour', 1,
       w.created_at + k * interval '1 hour'
FROM wish w CROSS JOIN generate_series(1, :per) AS k
"""

MESSAGES = """
INSERT INTO processed_message (key, sender, text, reply, created_at)
SELECT 'bench-' || w.id || '-' || k, 'r-' || w.requester_id, '消息' || k, '好的，已收到。',
       w.created_at + k * interval '1 hour'
FROM wish w CROSS JOIN generate_series(1, :per) AS k
"""


BULK_TABLES = ("person", "wish", "claim", "wish_event", "notice", "processed_message")


def _drop_plain_indexes(c: Connection) -> list[str]:
    """Drop the secondary indexes of the big tables (building them once afterwards is much faster
    than keeping them up to date row by row); returns their definitions."""
    rows = c.execute(text("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(:tables)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conname = i.indexname)"""),
        {"tables": list(BULK_TABLES)}).all()
    for name, _ in rows:
        c.execute(text(f'DROP INDEX "{name}"'))
    return [definition for _, definition in rows]


def generate(db: Database, wishes: int, say=print) -> dict[str, int]:
    """Fill an empty, migrated PostgreSQL database. Returns the row counts."""
    residents, members = people_counts(wishes)
    steps = [
        ("areas", lambda c: _areas(c)),
        ("people", lambda c: _people(c, residents, members)),
        ("wishes", lambda c: c.execute(text(WISHES), {
            "n": wishes, "grids": GRIDS, "gpc": GRIDS_PER_COMMUNITY, "per_grid": residents // GRIDS,
            "gridworkers": residents + members, "categories": list(CATEGORIES)})),
        ("claims", lambda c: c.execute(text(CLAIMS), {
            "residents": residents, "communities": COMMUNITIES, "members": members})),
        ("timeline", lambda c: c.execute(text(EVENTS))),
        ("notices", lambda c: c.execute(text(NOTICES), {"per": NOTICES_PER_WISH})),
        ("messages", lambda c: c.execute(text(MESSAGES), {"per": MESSAGES_PER_WISH})),
    ]
    with db.engine.begin() as c:
        c.execute(text("SET LOCAL synchronous_commit = off"))
        c.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
        c.execute(text("SELECT setseed(0.13)"))
        indexes = _drop_plain_indexes(c)
        for name, step in steps:
            started = time.perf_counter()
            step(c)
            say(f"  generated {name} in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        for definition in indexes:
            c.execute(text(definition))
        say(f"  rebuilt {len(indexes)} indexes in {time.perf_counter() - started:.1f} s")
        for table in ("street", "community", "grid", "unit", "person", "wish", "claim", "wish_event", "notice",
                      "processed_message"):
            c.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                           f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
    with db.transaction() as session:
        add_staff(session, ADMIN, "admin", STAFF_PASSWORD, openid="admin")
        add_staff(session, COMMUNITY_STAFF, "community", STAFF_PASSWORD, community="社区1", name="社区工作人员")
    started = time.perf_counter()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("VACUUM ANALYZE"))  # visibility map for index-only scans, and statistics
    say(f"  vacuum analyze in {time.perf_counter() - started:.1f} s")
    with db.engine.connect() as c:
        return {table: c.scalar(text(f"SELECT count(*) FROM {table}")) for table in (
            "wish", "claim", "wish_event", "notice", "processed_message", "person")}
