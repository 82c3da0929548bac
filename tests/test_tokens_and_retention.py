"""Scoped API tokens and the retention of processed messages (issue 9, point 3)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from models import ProcessedMessage, utcnow

CONTENT = "需要一副老花镜，儿子电话139 1111 2222"


@pytest.fixture
def cli(app, monkeypatch):
    monkeypatch.setenv("WISHBOT_DATABASE_URL", app.extensions["wishbot"].settings.database_url)
    runner = CliRunner()

    def wishbot(*args: str):
        return runner.invoke(main, list(args))

    return wishbot


@pytest.fixture
def three_wishes(chat):
    """#1 in 新城社区/第一网格 (with a phone number in its text), #2 in 新城社区/第二网格, #3 in 东山社区."""
    chat.say("o-wang", f"许愿 {CONTENT}")
    chat.say("o-zhao", "许愿 家里水龙头漏水")
    chat.say("o-sun", "许愿 想要一个书包")


def token(cli, *args: str) -> str:
    result = cli("token", "create", *args)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def api(client, path: str, value: str):
    return client.get(path, headers={"Authorization": f"Bearer {value}"})


def listed(client, value: str) -> list[int]:
    return [w["id"] for w in api(client, "/api/wishes", value).get_json()["wishes"]]


def test_a_token_reads_only_its_community_or_grid(cli, client, three_wishes):
    everything = token(cli, "all")
    community = token(cli, "xincheng", "--community", "新城社区")
    grid = token(cli, "grid-1", "--grid", "新城社区/第一网格")
    assert listed(client, everything) == [1, 2, 3]
    assert listed(client, community) == [1, 2]
    assert listed(client, grid) == [1]
    assert api(client, "/api/wishes/3", community).status_code == 404
    assert api(client, "/api/wishes/2", grid).status_code == 404
    assert api(client, "/api/wishes/1", grid).status_code == 200


def test_contact_fields_only_with_contacts(cli, client, three_wishes):
    plain = api(client, "/api/wishes/1", token(cli, "plain", "--grid", "新城社区/第一网格")).get_json()
    assert plain["requester"] == "王**" and plain["content"] == "需要一副老花镜，儿子电话139****2222"
    assert "requester_phone" not in plain
    text = json.dumps(plain, ensure_ascii=False)
    assert not any(secret in text for secret in ("13800000001", "新城小区3号楼401", "王秀兰", "1111"))

    granted = api(client, "/api/wishes/1", token(cli, "full", "--grid", "新城社区/第一网格", "--contacts")).get_json()
    assert granted["requester"] == "王秀兰" and granted["content"] == CONTENT
    assert granted["requester_phone"] == "13800000001" and granted["requester_address"] == "新城小区3号楼401"


def test_token_create_refuses_what_does_not_exist_and_changes_nothing(cli):
    result = cli("token", "create", "x", "--community", "没有的社区")
    assert result.exit_code != 0 and "没有这个社区：没有的社区" in result.output
    result = cli("token", "create", "y", "--community", "新城社区", "--grid", "新城社区/第一网格")
    assert result.exit_code != 0 and "只能写一个" in result.output
    assert token(cli, "x")  # the name is still free


def stored_messages(app) -> list[str]:
    with app.extensions["wishbot"].db.sessions() as session:
        return list(session.scalars(select(ProcessedMessage.text).order_by(ProcessedMessage.id)))


def age(app, text: str, days: int) -> None:
    with app.extensions["wishbot"].db.transaction() as session:
        row = session.scalar(select(ProcessedMessage).where(ProcessedMessage.text == text))
        row.created_at = utcnow() - timedelta(days=days)


def test_purge_removes_processed_messages_past_retention(chat, app, cli):
    for text in ("许愿 一副老花镜", "许愿 一个助听器", "许愿 一根拐杖"):  # what changes data is recorded
        chat.say("o-wang", text)
    age(app, "许愿 一副老花镜", 40)
    age(app, "许愿 一个助听器", 10)
    result = cli("purge")
    assert result.exit_code == 0 and result.output == "removed 1 processed-message records older than 30 days\n"
    assert stored_messages(app) == ["许愿 一个助听器", "许愿 一根拐杖"]
    result = cli("purge", "--days", "7")
    assert result.exit_code == 0 and result.output == "removed 1 processed-message records older than 7 days\n"
    assert stored_messages(app) == ["许愿 一根拐杖"]
    assert cli("purge", "--days", "0").exit_code != 0


def test_the_clock_job_purges_by_the_configured_retention(chat, app, monkeypatch):
    from composition.runtime import Runtime

    chat.say("o-wang", "许愿 一个助听器")
    chat.say("o-wang", "许愿 一根拐杖")
    age(app, "许愿 一个助听器", 3)
    runtime = Runtime(app.extensions["wishbot"].settings.with_(retention_days=2))
    assert runtime.purge_processed("2026-11-30T08") == 1  # what the clock's hourly run calls
    assert stored_messages(app) == ["许愿 一根拐杖"]
    runtime.db.dispose()


def test_retention_days_come_from_the_environment():
    from bot.settings import Settings

    assert Settings.from_env({}).retention_days == 30
    assert Settings.from_env({"WISHBOT_RETENTION_DAYS": "7"}).retention_days == 7
