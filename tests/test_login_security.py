"""Dashboard logins on kept libraries (Flask-Login, Flask-WTF, Flask-Limiter): the throttle keys
on username and address, stays small whatever is typed, is shared through Redis, and never lets
a stranger elsewhere lock a staff member out; cookies are HttpOnly, SameSite=Lax and Secure when
configured; a logout ends every copy of the session."""
from __future__ import annotations

import pytest

from .conftest import STAFF_PASSWORD, make_settings
from .test_dashboard import csrf
from .test_dashboard_hardening import guesses_in_parallel

OFFICE, STRANGER = "10.0.0.1", "203.0.113.9"


def attempt(client, username, password, address=OFFICE):
    client.environ_base["REMOTE_ADDR"] = address
    return client.post("/admin/login", data={"username": username, "password": password,
                                             "csrf_token": csrf(client)}).status_code


def test_a_stranger_elsewhere_cannot_lock_a_staff_member_out(client, staff):
    assert [attempt(client, "boss", f"guess-{n}", STRANGER) for n in range(7)] == [401] * 5 + [429] * 2
    assert attempt(client, "boss", STAFF_PASSWORD, STRANGER) == 429  # locked out there, right password or not
    assert attempt(client, "boss", STAFF_PASSWORD, OFFICE) == 302  # and not here


def test_guessing_many_usernames_from_one_address_is_cut_off(client, staff):
    statuses = [attempt(client, f"user{n}", "guess", STRANGER) for n in range(22)]
    assert statuses == [401] * 20 + [429] * 2
    assert attempt(client, "boss", STAFF_PASSWORD, STRANGER) == 429
    assert attempt(client, "xincheng", STAFF_PASSWORD, OFFICE) == 302


def test_good_logins_use_up_nothing(app, staff):
    for n in range(22):  # an office's staff behind one address, all morning: more than 20
        client = app.test_client()
        assert attempt(client, "xincheng", STAFF_PASSWORD) == 302, n
    client = app.test_client()
    for _round in range(3):  # a few typos then the right password, again and again
        assert [attempt(client, "boss", "typo") for _ in range(4)] == [401] * 4
        assert attempt(client, "boss", STAFF_PASSWORD) == 302


def test_huge_usernames_do_not_grow_the_throttle(app, staff):
    client = app.test_client()
    statuses = [attempt(client, f"{n}" + "x" * 60_000, "guess", STRANGER) for n in range(25)]  # 60 KB each
    assert statuses == [401] * 20 + [429] * 5
    storage = app.extensions["wishbot.limiter"].storage
    keys = list(storage.events) + list(storage.storage)
    assert len(keys) <= 2 * 22 and max(len(key) for key in keys) < 200, (len(keys), max(map(len, keys)))


@pytest.mark.parametrize("shared", ["memory", "redis"])
def test_parallel_wrong_passwords_are_cut_off_at_the_limit(request, database_url, wechat_api, shared):
    from app import create_app

    from .world import build_world

    extra = {"redis_url": request.getfixturevalue("redis_url")} if shared == "redis" else {}
    app = create_app(make_settings(database_url, wechat_api.url_for("").rstrip("/"), **extra))
    build_world(app.extensions["wishbot"].db)
    _add_boss(app)
    statuses = guesses_in_parallel(app, 30)
    assert statuses.count(401) == 5 and statuses.count(429) == 25
    app.extensions["wishbot"].db.dispose()


def _add_boss(app):
    from web.auth import add_staff

    with app.extensions["wishbot"].db.transaction() as s:
        add_staff(s, "boss", "admin", STAFF_PASSWORD, name="管理员")


def test_the_count_is_shared_by_processes_through_redis(database_url, wechat_api, redis_url):
    from app import create_app

    from .world import build_world

    settings = make_settings(database_url, wechat_api.url_for("").rstrip("/"), redis_url=redis_url)
    one, other = create_app(settings), create_app(settings)  # two web processes
    build_world(one.extensions["wishbot"].db)
    _add_boss(one)
    assert [attempt(one.test_client(), "boss", "guess") for _ in range(5)] == [401] * 5
    assert attempt(other.test_client(), "boss", STAFF_PASSWORD) == 429
    for app in (one, other):
        app.extensions["wishbot"].db.dispose()


def session_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    return cookie


def test_the_session_cookie_is_httponly_and_samesite_lax(client, staff):
    client.get("/admin/login")
    client.environ_base["REMOTE_ADDR"] = OFFICE
    response = client.post("/admin/login", data={"username": "boss", "password": STAFF_PASSWORD,
                                                 "csrf_token": csrf(client)})
    cookie = session_cookie(response)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_when_configured(database_url, wechat_api):
    from app import create_app

    app = create_app(make_settings(database_url, wechat_api.url_for("").rstrip("/"), secure_cookies=True))
    _add_boss(app)
    client = app.test_client()
    page = client.get("/admin/login", base_url="https://localhost")
    assert "Secure" in session_cookie(page)
    app.extensions["wishbot"].db.dispose()


def test_a_copied_session_cookie_dies_at_logout(app, client, staff):
    assert attempt(client, "boss", STAFF_PASSWORD) == 302
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    assert copy.get("/admin/wishes/").status_code == 200  # the copy works while the login lasts
    assert client.post("/admin/logout", data={"csrf_token": csrf(client, "/admin/wishes/")}).status_code == 302
    assert client.get("/admin/wishes/").status_code == 302
    response = copy.get("/admin/wishes/")
    assert response.status_code == 302 and "/admin/login" in response.location
    assert attempt(client, "boss", STAFF_PASSWORD) == 302  # logging in again works
    assert client.get("/admin/wishes/").status_code == 200


def test_a_forged_session_id_gets_nowhere(app, client, staff):
    from flask.sessions import SecureCookieSessionInterface

    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    assert attempt(client, "boss", STAFF_PASSWORD) == 302
    other = app.test_client()
    other.set_cookie("session", serializer.dumps({"_user_id": "1:99", "_fresh": True}))  # a version never issued
    assert other.get("/admin/wishes/").status_code == 302


@pytest.mark.parametrize("value, secure", [("1", True), ("true", True), ("0", False), ("", False)])
def test_secure_cookies_are_read_from_the_environment(tmp_path, monkeypatch, value, secure):
    from bot.settings import Settings

    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"WISHBOT_SECURE_COOKIES": value}).secure_cookies is secure


def behind(client, proxy: str, forwarded_for: str | None):
    client.environ_base["REMOTE_ADDR"] = proxy
    client.environ_base.pop("HTTP_X_FORWARDED_FOR", None)
    if forwarded_for:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def test_behind_a_proxy_the_throttle_keys_on_the_client_it_names(database_url, wechat_api):
    """WISHBOT_PROXY_HOPS=1 (nginx in front): every request comes from the proxy's address, so the
    client's is read from X-Forwarded-For — else a stranger's guesses would lock out the office."""
    from app import create_app

    app = create_app(make_settings(database_url, wechat_api.url_for("").rstrip("/"), proxy_hops=1))
    _add_boss(app)
    client = app.test_client()

    def guess(forwarded_for, password="guess"):
        behind(client, "127.0.0.1", forwarded_for)
        return client.post("/admin/login", data={"username": "boss", "password": password,
                                                 "csrf_token": csrf(client)}).status_code

    assert [guess(STRANGER) for _ in range(6)] == [401] * 5 + [429]
    assert guess(f"{STRANGER}, {OFFICE}", STAFF_PASSWORD) == 302  # only the last hop is the proxy's word
    app.extensions["wishbot"].db.dispose()


def test_without_proxy_hops_a_forwarded_header_changes_nothing(client, staff):
    """By default no header is trusted: a stranger cannot dodge the throttle by naming other addresses."""
    statuses = []
    for n in range(6):
        behind(client, STRANGER, f"198.51.100.{n}")
        statuses.append(client.post("/admin/login", data={"username": "boss", "password": "guess",
                                                          "csrf_token": csrf(client)}).status_code)
    assert statuses == [401] * 5 + [429]
