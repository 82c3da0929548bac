"""The chat simulator: closed to the public outside the demo, and every message goes through
the real /wechat handler, signed and encrypted with the app's own settings."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from models import Person, ProcessedMessage, Wish

from .conftest import wait_for
from .test_dashboard import csrf, log_in


def person_id(app, openid: str) -> int:
    with app.extensions["wishbot"].db.sessions() as session:
        return session.scalar(select(Person.id).where(Person.openid == openid))


def say(client, person: int, text: str, token: str):
    return client.post("/sim/say", json={"person": person, "text": text}, headers={"X-CSRF-Token": token})


@pytest.fixture
def demo(app, world):
    runtime = app.extensions["wishbot"]
    runtime.settings = runtime.settings.with_(demo=True)
    return app


def test_the_simulator_is_closed_to_the_public_outside_the_demo(app, client, world):
    assert "/admin/login" in client.get("/sim/").location
    token = csrf(client)
    assert say(client, person_id(app, "o-wang"), "帮助", token).status_code == 401
    assert client.get(f"/sim/feed?person={person_id(app, 'o-wang')}").status_code == 401
    with app.extensions["wishbot"].db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedMessage)) == 0


def test_a_post_without_the_csrf_token_is_refused(demo, client):
    client.get("/sim/")
    assert client.post("/sim/say", json={"person": person_id(demo, "o-wang"), "text": "帮助"}).status_code == 400


def test_the_demo_simulator_chats_through_the_webhook(demo, client):
    page = client.get("/sim/").get_data(as_text=True)
    assert "王秀兰" in page and "刘芳" in page
    token = csrf(client, "/sim/")
    wang, liu = person_id(demo, "o-wang"), person_id(demo, "o-liu")
    reply = say(client, wang, "许愿 需要一个助听器", token).get_json()["reply"]
    number = int(re.search(r"#(\d+)", reply).group(1))
    with demo.extensions["wishbot"].db.sessions() as session:
        assert session.get(Wish, number).content == "需要一个助听器"
        # The real handler recorded the delivery under its message key, as it does for WeChat.
        assert session.scalar(select(ProcessedMessage.reply).where(ProcessedMessage.sender == "o-wang")) == reply

    feed = client.get(f"/sim/feed?person={liu}").get_json()
    assert any(n["box"] == "gridworkers" and f"待审核心愿 #{number}" in n["text"] for n in feed["notices"])
    assert say(client, liu, f"审核 {number} 通过", token).get_json()["reply"].startswith(f"心愿 #{number}")

    def arrived():
        notices = client.get(f"/sim/feed?person={wang}&after=0").get_json()["notices"]
        return [n for n in notices if f"#{number}" in n["text"]]

    notices = wait_for(arrived)
    boxes = {n["box"] for n in notices}
    assert boxes == {"private", "group"}
    group = next(n for n in notices if n["box"] == "group")
    assert "王**" in group["text"] and "王秀兰" not in group["text"]  # group pushes stay masked


def test_the_feed_sends_only_what_is_new(demo, client):
    token = csrf(client, "/sim/")
    liu = person_id(demo, "o-liu")
    say(client, person_id(demo, "o-wang"), "许愿 需要一个助听器", token)
    first = client.get(f"/sim/feed?person={liu}").get_json()
    assert first["notices"] and first["last"] == first["notices"][-1]["id"]
    again = client.get(f"/sim/feed?person={liu}&after={first['last']}").get_json()
    assert again == {"last": first["last"], "notices": []}


def test_staff_may_chat_only_as_people_of_their_scope(app, client, staff):
    log_in(client, "liufang")
    page = client.get("/sim/").get_data(as_text=True)
    assert "王秀兰" in page and "孙桂芝" not in page
    token = csrf(client, "/sim/")
    assert say(client, person_id(app, "o-sun"), "帮助", token).status_code == 400
    assert client.get(f"/sim/feed?person={person_id(app, 'o-sun')}").status_code == 404
    assert say(client, person_id(app, "o-wang"), "帮助", token).get_json()["reply"].startswith("您可以发")


def test_the_demo_banner_leads_with_the_simulator_and_a_login_that_works(tmp_path, monkeypatch):
    from click.testing import CliRunner
    from flask import Flask

    from cli import main

    served = {}
    monkeypatch.setattr(Flask, "run", lambda app, **kwargs: served.setdefault("app", app))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["demo", "--port", "5099"])
    assert result.exit_code == 0, result.output
    banner = result.output
    addresses = re.findall(r"http://127\.0\.0\.1:5099(/\S*)", banner)
    assert addresses[:2] == ["/sim", "/admin"]
    password = re.search(r"password (\S+?)\)", banner).group(1)
    app = served["app"]
    try:
        client = app.test_client()
        assert client.get("/sim/").status_code == 200  # open to a newcomer in the demo
        for username in ("admin", "xincheng", "liufang"):
            assert username in banner
            client = app.test_client()
            assert log_in(client, username, password).location.endswith("/admin/wishes/")
            assert client.get("/admin/wishes/").status_code == 200
    finally:
        runtime = app.extensions["wishbot"]
        runtime.jobs.join()
        runtime.jobs.close()
        runtime.db.dispose()


def test_the_demo_history_is_the_same_every_run_and_the_readme_uses_its_numbers(sqlite_url):
    from pathlib import Path

    from bot.db import Database
    from composition.demo import seed
    from models import Wish

    db = Database(sqlite_url)
    with db.transaction() as session:
        seed(session, history=True)
    with db.sessions() as session:
        next_wish = max(session.scalars(select(Wish.id))) + 1
        assert session.scalar(select(Wish).where(Wish.status == "confirmed", Wish.confirmed_at.is_not(None)))
    db.dispose()
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert f'"审核 {next_wish} 通过"' in readme and f'"认领 {next_wish}"' in readme


def test_over_long_text_is_refused_not_cut(demo, client):
    token = csrf(client, "/sim/")
    response = say(client, person_id(demo, "o-wang"), "许愿 " + "很" * 600, token)
    assert (response.status_code, response.get_json()) == (400, {"error": "内容太长了，请控制在500字以内。"})
    with demo.extensions["wishbot"].db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(ProcessedMessage)) == 0
