"""A protocol nobody can forge, over HTTP: with an EncodingAESKey only sealed requests count;
each signed request is good once and only inside WISHBOT_TIMESTAMP_WINDOW; WeChat's retries (the
same MsgId, signed anew) still get the stored reply. On /wechat and /wecom alike."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from bot.channels import simulate
from models import ProcessedMessage, Wish

from .chat import Chat
from .conftest import AES_KEY, APPID, TOKEN, make_settings
from .replies import HELP
from .test_webhook import WECOM


def count(app, model) -> int:
    with app.extensions["wishbot"].db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def post(client, params, body, path="/wechat"):
    return client.post(path, query_string=params, data=body, content_type="text/xml")


def sealed(text, msg_id, **stamp):
    xml = simulate.build_text_message("o-wang", text, msg_id=msg_id)
    return simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=AES_KEY, **stamp)


def test_a_captured_url_with_a_plaintext_body_is_refused_and_changes_nothing(chat, client, app):
    params, body = sealed("许愿 需要一副老花镜", 1)
    assert post(client, params, body).status_code == 200
    forged = simulate.build_text_message("o-wang", "许愿 伪造的心愿", msg_id=2).encode()
    url_only = {k: params[k] for k in ("signature", "timestamp", "nonce")}
    fresh = simulate.sign_request(simulate.build_text_message("o-wang", "许愿 伪造的心愿", msg_id=3),
                                  token=TOKEN)[0]  # a plaintext request signed with the token
    for attempt in (url_only, {**url_only, "encrypt_type": "raw"}, params, fresh):
        assert 400 <= post(client, attempt, forged).status_code < 500
    assert count(app, Wish) == 1 and count(app, ProcessedMessage) == 1  # the genuine one only


def test_without_a_key_plaintext_mode_still_works(database_url, wechat_api, world_without_key):
    app, client = world_without_key
    assert Chat(client, app, wechat_api, mode="plain").say("o-wang", "帮助") == HELP["resident"]


@pytest.fixture
def world_without_key(database_url, wechat_api):
    from app import create_app

    from .world import build_world

    app = create_app(make_settings(database_url, wechat_api.url_for("").rstrip("/")).with_(wechat_aes_key=None))
    app.config.update(TESTING=True)
    build_world(app.extensions["wishbot"].db)
    yield app, app.test_client()
    app.extensions["wishbot"].jobs.close()
    app.extensions["wishbot"].db.dispose()


@pytest.mark.parametrize("age, status", [(-400, 403), (-301, 403), (-250, 200), (250, 200), (400, 403)])
def test_a_timestamp_outside_the_window_is_refused(chat, client, app, age, status):
    params, body = sealed("许愿 需要一副老花镜", 10, timestamp=int(time.time()) + age)
    assert post(client, params, body).status_code == status
    assert count(app, Wish) == (1 if status == 200 else 0)


def test_the_window_comes_from_the_settings(database_url, wechat_api):
    from app import create_app

    app = create_app(make_settings(database_url, wechat_api.url_for("").rstrip("/"), timestamp_window=60))
    params, body = sealed("帮助", 11, timestamp=int(time.time()) - 100)
    assert post(app.test_client(), params, body).status_code == 403
    params, body = sealed("帮助", 12, timestamp=int(time.time()) - 30)
    assert post(app.test_client(), params, body).status_code == 200
    app.extensions["wishbot"].db.dispose()


def test_a_replayed_request_is_refused_and_changes_nothing(chat, client, app):
    params, body = sealed("许愿 需要一副老花镜", 20)
    assert post(client, params, body).status_code == 200
    assert post(client, params, body).status_code == 403
    other_params, other_body = sealed("许愿 需要一根拐杖", 21, timestamp=params["timestamp"], nonce=params["nonce"])
    assert post(client, other_params, other_body).status_code == 403
    assert count(app, Wish) == 1 and count(app, ProcessedMessage) == 1


def test_wechats_retry_signed_anew_gets_the_stored_reply(chat, client, app):
    first = chat.say("o-wang", "许愿 需要一副老花镜", msg_id=30)
    assert chat.say("o-wang", "许愿 需要一副老花镜", msg_id=30) == first  # new timestamp and nonce
    assert count(app, Wish) == 1


def test_wecom_refuses_stale_and_replayed_requests(sqlite_url):
    from app import create_app
    from bot.settings import Settings

    app = create_app(Settings(database_url=sqlite_url, **WECOM))
    client = app.test_client()
    xml = simulate.build_text_message("zhangsan", "帮助", msg_id=31, agent_id="218")
    sign = dict(token=WECOM["wecom_token"], corp_id=WECOM["wecom_corp_id"], aes_key=WECOM["wecom_aes_key"])
    params, body = simulate.sign_wecom_request(xml, **sign)
    assert post(client, params, body, "/wecom").status_code == 200
    assert post(client, params, body, "/wecom").status_code == 403
    stale = simulate.sign_wecom_request(xml, timestamp=int(time.time()) - 600, **sign)
    assert post(client, *stale, "/wecom").status_code == 403
    assert count(app, ProcessedMessage) == 1
    app.extensions["wishbot"].db.dispose()


def test_with_redis_every_process_refuses_a_pair_another_admitted(database_url, wechat_api, redis_url):
    """Two apps sharing Redis stand for two gunicorn workers behind one address."""
    from app import create_app

    from .world import build_world

    settings = make_settings(database_url, wechat_api.url_for("").rstrip("/"), redis_url=redis_url)
    first, second = create_app(settings), create_app(settings)
    build_world(first.extensions["wishbot"].db)
    params, body = sealed("帮助", 40)
    assert post(first.test_client(), params, body).status_code == 200
    assert post(second.test_client(), params, body).status_code == 403
    for app in (first, second):
        app.extensions["wishbot"].db.dispose()


def test_the_window_is_read_from_the_environment(tmp_path, monkeypatch):
    from bot.settings import Settings

    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"WISHBOT_TIMESTAMP_WINDOW": "60"}).timestamp_window == 60
    assert Settings.from_env({}).timestamp_window == 300
