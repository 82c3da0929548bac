"""The service-hours migration upgrades a database that already holds wishes and claims:
rows kept, services confirmed before hours existed count as verified by that confirmation,
and the one-active-claim index survives."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, inspect, text

from bot.schema import alembic_config

BEFORE_HOURS = "b3c9d2e4f5a6"


def test_upgrade_keeps_claims_and_verifies_confirmed_services(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    command.upgrade(alembic_config(url), BEFORE_HOURS)
    engine = create_engine(url)
    with engine.begin() as c:
        c.execute(text("INSERT INTO community (id, name, review_required) VALUES (1, '新城社区', 1)"))
        c.execute(text("INSERT INTO person (id, name, roles, created_at) VALUES "
                       "(1, '王秀兰', 'resident', '2026-10-01 00:00:00'), (2, '李建国', 'member', '2026-10-01 00:00:00')"))
        for wish_id, status, confirmed in ((1, "confirmed", "'2026-10-05 02:00:00'"), (2, "completed", "NULL")):
            c.execute(text(
                "INSERT INTO wish (id, content, status, slots, urgency, kind, beneficiaries, requester_id, "
                "community_id, created_at, confirmed_at, confirmed_by_id) VALUES "
                f"({wish_id}, '需要老花镜', '{status}', 1, 2, 'individual', 1, 1, 1, '2026-10-01 00:00:00', "
                f"{confirmed}, {1 if confirmed != 'NULL' else 'NULL'})"))
            c.execute(text("INSERT INTO claim (wish_id, member_id, status, created_at, ended_at) VALUES "
                           f"({wish_id}, 2, 'completed', '2026-10-02 00:00:00', '2026-10-03 00:00:00')"))
    command.upgrade(alembic_config(url), "head")
    with engine.connect() as c:
        rows = c.execute(text("SELECT wish_id, status, hours, hours_verified_by_id, hours_verified_at "
                              "FROM claim ORDER BY wish_id")).all()
        assert [(r[0], r[1], r[2], r[3], r[4] is not None) for r in rows] == [
            (1, "completed", None, 1, True), (2, "completed", None, None, False)]
        assert c.execute(text("SELECT count(*) FROM certificate")).scalar() == 0
    indexes = {i["name"] for i in inspect(engine).get_indexes("claim")}
    assert "uq_claim_active_member" in indexes
    with engine.begin() as c:
        c.execute(text("INSERT INTO claim (wish_id, member_id, status, created_at) VALUES (2, 2, 'active', '2026-10-04')"))
        try:
            c.execute(text("INSERT INTO claim (wish_id, member_id, status, created_at) VALUES (2, 2, 'active', '2026-10-04')"))
        except Exception as error:
            assert "UNIQUE" in str(error)
        else:
            raise AssertionError("a second active claim of one member was accepted")
    engine.dispose()


def test_upgrade_on_postgresql_keeps_rows(postgres_url):
    """The fixture's database is at head already; going down and up again keeps the claims."""
    config = alembic_config(postgres_url)
    command.downgrade(config, BEFORE_HOURS)
    command.upgrade(config, "head")
    engine = create_engine(postgres_url)
    columns = {c["name"] for c in inspect(engine).get_columns("claim")}
    assert {"hours", "hours_verified_at", "hours_verified_by_id", "hours_recorded_by_id"} <= columns
    foreign = {tuple(fk["constrained_columns"]) for fk in inspect(engine).get_foreign_keys("claim")}
    assert ("hours_verified_by_id",) in foreign
    engine.dispose()
