"""Fixtures: real SQLite and PostgreSQL databases, a real Redis, real local HTTP servers
standing in for WeChat's APIs, and a chat driver that speaks the real signed protocol."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from bot.schema import upgrade
from bot.settings import Settings
from models import Base

PG_ADMIN_URL = os.environ.get("WISHBOT_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
PG_TEST_DB = f"wishbot_test_{os.getpid()}"  # one per pytest process, so parallel runs never collide
REDIS_URL = os.environ.get("WISHBOT_TEST_REDIS", "redis://127.0.0.1:6379/14")
IN_CI = bool(os.environ.get("CI"))

TOKEN = "spamtest"
APPID = "wx2c2769f8efd9abc2"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


def service_missing(what: str, error: Exception):
    """In CI a missing service is a failure; on a laptop, a loud skip."""
    message = f"{what} is not answering ({error}); start it with scripts/services.sh"
    if IN_CI:
        pytest.fail(message)
    pytest.skip("SERVICE MISSING — " + message)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def postgres_url() -> str:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {PG_TEST_DB}"))
    except Exception as error:
        service_missing("PostgreSQL", error)
    finally:
        admin.dispose()
    url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{PG_TEST_DB}"
    upgrade(url)
    yield url
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {PG_TEST_DB} WITH (FORCE)"))
    admin.dispose()


def truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path) -> str:
    """Each test that asks for it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "wishbot.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("postgres_url")
    truncate_postgres(url)
    return url


@pytest.fixture
def sqlite_url(sqlite_template, tmp_path) -> str:
    path = tmp_path / "wishbot.sqlite3"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def redis_url() -> str:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.flushdb()
    except Exception as error:
        service_missing("Redis", error)
    yield REDIS_URL
    client.flushdb()
    client.close()


@pytest.fixture
def wechat_api(httpserver):
    """A real HTTP server on 127.0.0.1 answering like WeChat's APIs, recording every call."""
    httpserver.expect_request("/cgi-bin/stable_token", method="POST").respond_with_json(
        {"access_token": "TOKEN-1", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/message/custom/send", method="POST").respond_with_json(
        {"errcode": 0, "errmsg": "ok"})
    httpserver.expect_request("/cgi-bin/webhook/send", method="POST").respond_with_json(
        {"errcode": 0, "errmsg": "ok"})
    # Re-tagging after a role change asks for the account's tags first; none: nothing to do.
    httpserver.expect_request("/cgi-bin/tags/get").respond_with_json({"tags": []})
    return httpserver


def make_settings(database_url: str, api_base: str, **changes) -> Settings:
    return Settings(
        database_url=database_url, wechat_token=TOKEN, wechat_appid=APPID, wechat_secret="secret",
        wechat_aes_key=AES_KEY, wechat_api_base=api_base, wecom_api_base=api_base, **changes,
    )


@pytest.fixture
def settings(database_url, wechat_api) -> Settings:
    return make_settings(database_url, wechat_api.url_for("").rstrip("/"))


@pytest.fixture
def app(settings):
    from app import create_app

    app = create_app(settings)
    app.config.update(TESTING=True)
    yield app
    runtime = app.extensions["wishbot"]
    runtime.jobs.join()
    runtime.jobs.close()
    runtime.db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


def wait_for(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


@pytest.fixture
def world(app):
    from .world import build_world

    build_world(app.extensions["wishbot"].db)


@pytest.fixture
def chat(client, app, wechat_api, world):
    from .chat import Chat

    return Chat(client, app, wechat_api)


STAFF_PASSWORD = "correct-horse-1"


@pytest.fixture
def staff(app, world):
    """Dashboard logins: an admin, 新城社区's staff, and the grid workers of 新城社区/第一网格
    and 东山社区/第一网格 (acting as the world's grid workers)."""
    from web.auth import add_staff

    with app.extensions["wishbot"].db.transaction() as s:
        add_staff(s, "boss", "admin", STAFF_PASSWORD, name="管理员")
        add_staff(s, "xincheng", "community", STAFF_PASSWORD, community="新城社区", name="新城社工")
        add_staff(s, "liufang", "gridworker", STAFF_PASSWORD, grid="新城社区/第一网格", openid="o-liu")
        add_staff(s, "zhouqiang", "gridworker", STAFF_PASSWORD, grid="东山社区/第一网格", openid="o-zhou")
    return STAFF_PASSWORD


# --- a real browser: Debian's Chromium driven by Playwright, one for the whole session ---------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        service_missing("Chromium", FileNotFoundError(CHROMIUM))
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
