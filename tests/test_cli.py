"""The directory CLI and init-db: commands get their runtime from click (CliRunner passes one in);
the installed `wishbot` command builds it from the environment."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, text

from bot.settings import Settings
from cli import main
from composition.runtime import Runtime

WISHBOT = str(Path(sys.executable).with_name("wishbot"))


@pytest.fixture
def run(tmp_path):
    runtime = Runtime(Settings(database_url=f"sqlite:///{tmp_path / 'cli.sqlite3'}"))

    def wishbot(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(main, list(args), obj=runtime, input=input)

    assert wishbot("init-db").exit_code == 0
    wishbot.url = runtime.settings.database_url
    yield wishbot
    runtime.db.dispose()


def test_the_installed_command_reads_its_settings_from_the_environment(tmp_path):
    url = f"sqlite:///{tmp_path / 'env.sqlite3'}"
    env = {**os.environ, "WISHBOT_DATABASE_URL": url}
    env.pop("WISHBOT_REDIS_URL", None)

    def wishbot(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([WISHBOT, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=60)

    assert wishbot("init-db").stdout == "database is up to date\n"
    result = wishbot("community", "add", "新城社区")
    assert (result.returncode, result.stdout) == (0, "community 新城社区 added\n")
    assert rows(url, "community") == 1


def rows(url: str, table: str) -> int:
    engine = create_engine(url)
    with engine.connect() as connection:
        value = connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
    engine.dispose()
    return value


def test_init_db_is_safe_to_run_again(run):
    result = run("init-db")
    assert result.exit_code == 0 and "up to date" in result.stdout


def test_the_directory_round_trip(run):
    assert run("community", "add", "新城社区", "--street", "新兴街道", "--robot-url", "k1").exit_code == 0
    assert run("grid", "add", "新城社区", "第一网格").exit_code == 0
    assert run("unit", "add", "市税务局").exit_code == 0
    result = run("person", "add", "o-li", "--role", "member", "--name", "李建国", "--phone", "13900000001",
                 "--community", "新城社区", "--unit", "市税务局")
    assert result.exit_code == 0, result.stderr
    result = run("person", "add", "o-li", "--role", "gridworker", "--name", "李建国",
                 "--grid", "新城社区/第一网格")
    assert result.exit_code == 0, result.stderr
    engine = create_engine(run.url)
    with engine.connect() as connection:
        roles = connection.execute(text("SELECT roles FROM person WHERE openid='o-li'")).scalar()
    engine.dispose()
    assert roles == "gridworker,member"


def test_a_person_may_have_a_wecom_userid_beside_or_instead_of_an_openid(run):
    assert run("community", "add", "新城社区").exit_code == 0
    result = run("person", "add", "--wecom-userid", "zhangwei", "--role", "gridworker", "--name", "张伟",
                 "--community", "新城社区")
    assert result.exit_code == 0, result.stderr
    assert result.output.strip() == "person 张伟 (gridworker) added: wecom zhangwei"
    assert run("person", "add", "o-li", "--role", "member", "--name", "李建国").exit_code == 0
    result = run("person", "identity", "o-li", "--wecom-userid", "lijianguo")
    assert result.output.strip() == "person 李建国: openid o-li, wecom lijianguo"
    result = run("person", "identity", "zhangwei", "--openid", "o-zw")
    assert result.output.strip() == "person 张伟: openid o-zw, wecom zhangwei"
    taken = run("person", "identity", "o-li", "--wecom-userid", "zhangwei")
    assert taken.exit_code != 0 and "已经属于张伟" in taken.output
    assert run("person", "identity", "nobody", "--openid", "x").exit_code != 0


@pytest.mark.parametrize("args, reason", [
    (("grid", "add", "没有的社区", "网格"), "没有这个社区"),
    (("person", "add", "o-x", "--role", "resident", "--name", "张三", "--phone", "12345"), "手机号格式不对"),
    (("person", "add", "o-x", "--role", "resident", "--name", "张三", "--community", "没有的社区"), "没有这个社区"),
    (("person", "add", "o-x", "--role", "resident", "--name", "张三", "--grid", "新城社区"), "社区/网格"),
    (("community", "add", "新城社区"), "已存在"),
    (("unit", "add", "  "), "不能为空"),
])
def test_bad_input_exits_non_zero_with_one_line_and_changes_nothing(run, args, reason):
    assert run("community", "add", "新城社区").exit_code == 0
    before = {t: rows(run.url, t) for t in ("community", "grid", "person", "unit", "street")}
    result = run(*args)
    assert result.exit_code != 0
    assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert {t: rows(run.url, t) for t in before} == before


def test_token_create_prints_a_token_that_the_api_accepts(run, tmp_path):
    result = run("token", "create", "ledger-sync")
    assert result.exit_code == 0
    token = result.stdout.strip()
    assert len(token) >= 32
    assert run("token", "create", "ledger-sync").exit_code != 0

    from app import create_app
    from bot.settings import Settings

    client = create_app(Settings(database_url=run.url)).test_client()
    assert client.get("/api/wishes", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/api/wishes", headers={"Authorization": "Bearer nope"}).status_code == 401


@pytest.mark.parametrize("args, reason", [
    (("person", "add", "o" * 80, "--role", "resident", "--name", "张三"), "太长"),
    (("person", "add", "o-x", "--role", "resident", "--name", "张三", "--address", "很" * 300), "太长"),
    (("community", "add", "社" * 70), "太长"),
    (("grid", "add", "新城社区", "网" * 70), "太长"),
    (("unit", "add", "单\x07位"), "不能识别"),
])
def test_values_too_long_for_their_columns_are_refused_in_one_line(run, args, reason):
    assert run("community", "add", "新城社区").exit_code == 0
    result = run(*args)
    assert result.exit_code != 0
    assert reason in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_say_to_a_server_that_is_not_there_says_so_in_one_line(run):
    result = run("say", "o-wang", "帮助", "--url", "http://127.0.0.1:9/wechat")
    assert result.exit_code != 0
    assert "cannot reach http://127.0.0.1:9/wechat" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
