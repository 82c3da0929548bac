"""The migration that gives WeCom UserIDs their own column: a person whose `openid` held a WeCom
UserID (every message of theirs came through WeCom) gets it moved, with nothing else lost."""
from __future__ import annotations

from alembic import command
from sqlalchemy import create_engine, text

from bot.schema import alembic_config

BEFORE = "c9a1d5e7f3b2"
AFTER = "c4d5e6f7a8b9"


def test_wecom_userids_move_out_of_the_openid_column(database_url):
    config = alembic_config(database_url)
    try:
        _move_and_back(config, database_url)
    finally:
        command.upgrade(config, "head")  # the PostgreSQL schema is shared by the other tests


def _move_and_back(config, database_url):
    command.downgrade(config, BEFORE)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO person (id, openid, name, roles, created_at) VALUES "
            "(1, 'o-wang', '王秀兰', 'resident', CURRENT_TIMESTAMP),"
            "(2, 'liufang', '刘芳', 'gridworker', CURRENT_TIMESTAMP),"
            "(3, 'o-li', '李建国', 'member', CURRENT_TIMESTAMP)"))
        connection.execute(text(
            "INSERT INTO processed_message (key, sender, text, created_at) VALUES "
            "('wechat:1', 'o-wang', '许愿', CURRENT_TIMESTAMP),"
            "('wecom:2', 'liufang', '审核 1 通过', CURRENT_TIMESTAMP),"
            "('wecom:3', 'o-li', '帮助', CURRENT_TIMESTAMP), ('wechat:4', 'o-li', '认领 1', CURRENT_TIMESTAMP)"))
    command.upgrade(config, AFTER)
    with engine.connect() as connection:
        rows = connection.execute(text(
            "SELECT name, openid, wecom_userid, last_channel, window_sends FROM person ORDER BY id")).all()
    assert [tuple(row) for row in rows] == [
        ("王秀兰", "o-wang", None, None, 0),
        ("刘芳", None, "liufang", "wecom", 0),  # only ever wrote through WeCom
        ("李建国", "o-li", None, None, 0),  # wrote through both: an Official Account openid, left alone
    ]
    command.downgrade(config, BEFORE)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT openid FROM person WHERE id = 2")).scalar() == "liufang"
    engine.dispose()
