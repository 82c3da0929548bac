"""Faults never stall a reply or break a login: a Redis that hangs (accepts connections and
never answers) or refuses them costs a webhook reply a fraction of a second, and the dashboard
login works without it. What Redis did not take waits in the outbox for the relay."""
from __future__ import annotations

import socket
import threading
import time

import pytest
from sqlalchemy import select

from models import Notice

from .chat import Chat
from .conftest import STAFF_PASSWORD, make_settings

REPLY_BOUND = 3.0  # seconds: WeChat gives up after 5; a hanging Redis used to add 5 per notice
LOGIN_BOUND = 3.0  # a login also checks a password hash; Redis's own 5 s timeout would pass it


class HangingServer:
    """A TCP server on 127.0.0.1 that accepts every connection and never says a word."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        for port in range(7500, 7600):
            try:
                self.sock.bind(("127.0.0.1", port))
                break
            except OSError:
                continue
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self):
        self.closed = True
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hanging_redis():
    server = HangingServer()
    yield f"redis://127.0.0.1:{server.port}/0"
    server.close()


def refused_redis() -> str:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{sock.getsockname()[1]}/0"


@pytest.fixture(params=["hangs", "refuses"])
def broken_redis(request):
    return request.getfixturevalue("hanging_redis") if request.param == "hangs" else refused_redis()


@pytest.fixture
def app_on_broken_redis(database_url, wechat_api, broken_redis):
    from app import create_app

    from .world import build_world

    app = create_app(make_settings(database_url, wechat_api.url_for("").rstrip("/"), redis_url=broken_redis))
    app.config.update(TESTING=True)
    build_world(app.extensions["wishbot"].db)
    yield app
    app.extensions["wishbot"].db.dispose()


def timed(action):
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


def test_a_claim_is_answered_at_once_and_its_notices_wait_for_the_relay(app_on_broken_redis, wechat_api):
    app = app_on_broken_redis
    chat = Chat(app.test_client(), app, wechat_api)
    reply, took = timed(lambda: chat.say("o-wang", "许愿 需要一副老花镜"))
    assert reply == "收到您的心愿 #1，网格员审核后会发布。" and took < REPLY_BOUND, took
    number = 1
    reply, took = timed(lambda: chat.say("o-liu", f"审核 {number} 通过"))
    assert reply == f"心愿 #{number} 已发布到志愿者群。" and took < REPLY_BOUND, took
    reply, took = timed(lambda: chat.say("o-li", f"认领 {number}"))
    claimed = f"认领成功！心愿 #{number}：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 {number}」。"
    assert reply == claimed and took < REPLY_BOUND, took
    with app.extensions["wishbot"].db.sessions() as session:
        statuses = session.scalars(select(Notice.status)).all()
    assert len(statuses) >= 3 and set(statuses) == {"pending"}  # nothing lost: the relay hands them over


def test_the_dashboard_login_works_without_redis(app_on_broken_redis):
    from web.auth import add_staff

    app = app_on_broken_redis
    with app.extensions["wishbot"].db.transaction() as s:
        add_staff(s, "boss", "admin", STAFF_PASSWORD, name="管理员")
    client = app.test_client()
    from .test_dashboard import csrf

    token = csrf(client)
    response, took = timed(lambda: client.post("/admin/login", data={
        "username": "boss", "password": STAFF_PASSWORD, "csrf_token": token}))
    assert response.status_code == 302 and took < LOGIN_BOUND, (response.status_code, took)
    assert client.get("/admin/wishes/").status_code == 200
    wrong = client.post("/admin/login", data={"username": "boss", "password": "wrong", "csrf_token": csrf(client)})
    assert wrong.status_code == 401
