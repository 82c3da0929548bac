"""The /wechat endpoint over HTTP: verification, modes, bad input, retries."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.channels import simulate
from bot.channels.wechat import signature
from models import ProcessedMessage, Wish

from .conftest import AES_KEY, APPID, TOKEN
from .replies import HELP


def count(app, model) -> int:
    with app.extensions["wishbot"].db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_url_verification_with_the_official_vector(client):
    params = {"timestamp": "1410685589", "nonce": "test", "echostr": "hello-echo",
              "signature": signature(TOKEN, "1410685589", "test")}
    response = client.get("/wechat", query_string=params)
    assert response.status_code == 200 and response.data == b"hello-echo"
    params["signature"] = "0" * 40
    assert client.get("/wechat", query_string=params).status_code == 403


@pytest.mark.parametrize("mode", ["compatible", "safe"])  # plaintext: tests/test_protocol_guard.py
def test_every_mode_gets_a_reply_in_kind(chat, mode):
    assert chat.say("o-wang", "帮助", mode=mode) == HELP["resident"]


def test_encrypted_request_gets_an_encrypted_reply(chat, client):
    xml = simulate.build_text_message("o-wang", "帮助", msg_id=42)
    params, body = simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=AES_KEY, mode="safe")
    response = client.post("/wechat", query_string=params, data=body)
    assert b"<Encrypt>" in response.data and "帮助".encode() not in response.data


def test_bad_signature_is_403_and_stores_nothing(chat, client, app):
    xml = simulate.build_text_message("o-wang", "许愿 需要老花镜", msg_id=43)
    params, body = simulate.sign_request(xml, token="wrong-token", appid=APPID, aes_key=AES_KEY)
    assert client.post("/wechat", query_string=params, data=body).status_code == 403
    params, body = simulate.sign_request(xml, token="wrong-token")
    assert client.post("/wechat", query_string=params, data=body).status_code == 403
    assert count(app, ProcessedMessage) == 0 and count(app, Wish) == 0


@pytest.mark.parametrize("body", [
    b"not xml at all",
    b"<xml><FromUserName>o-wang</FromUserName></xml>",
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>',
    b"\xff\xfe\x00garbage",
    b"",
])
def test_malformed_bodies_are_4xx_and_store_nothing(chat, client, app, body):
    params = {"timestamp": "1410685589", "nonce": "n", "signature": signature(TOKEN, "1410685589", "n")}
    response = client.post("/wechat", query_string=params, data=body)
    assert 400 <= response.status_code < 500
    assert count(app, ProcessedMessage) == 0


def test_another_method_is_405_and_a_fault_is_a_bare_500_that_is_logged(chat, client, app, monkeypatch, caplog):
    assert client.put("/wechat", data=b"<xml/>").status_code == 405
    assert client.get("/wecom/aibot/x").status_code == 404  # the dashboard's 404: not a webhook path
    channel = app.extensions["wishbot"].wechat_channel
    monkeypatch.setattr(channel, "render", lambda envelope, reply: 1 / 0)
    xml = simulate.build_text_message("o-wang", "帮助", msg_id=45)
    params, body = simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=AES_KEY, mode="safe")
    response = client.post("/wechat", query_string=params, data=body)
    assert response.status_code == 500 and b"ZeroDivisionError" not in response.data
    assert "POST /wechat failed" in caplog.text and "ZeroDivisionError" in caplog.text


def test_oversized_body_is_413(chat, client, app):
    xml = simulate.build_text_message("o-wang", "许愿 " + "很" * 70_000, msg_id=44)
    params, body = simulate.sign_request(xml, token=TOKEN)
    assert client.post("/wechat", query_string=params, data=body).status_code == 413
    assert count(app, Wish) == 0


def test_a_retried_delivery_takes_effect_once_with_the_same_reply(chat, app):
    first = chat.say("o-wang", "许愿 需要一副老花镜", msg_id=777)
    again = chat.say("o-wang", "许愿 需要一副老花镜", msg_id=777)
    assert first == again == "收到您的心愿 #1，网格员审核后会发布。"
    assert count(app, Wish) == 1


def test_a_retried_refusal_gets_the_same_answer(chat, app):
    first = chat.say("o-li", "认领 99", msg_id=778)
    assert first == "没有找到心愿 #99。"
    assert chat.say("o-li", "认领 99", msg_id=778) == first


def test_subscribe_gets_a_welcome_once_per_event(chat, app):
    welcome = chat.event("o-new", "subscribe", create_time=1_700_000_000)
    assert welcome == ("欢迎来到微心愿助手！有困难直接告诉我您需要什么，比如：家里灯泡坏了，想请人来换一下"
                       "（也可以发：许愿 需要一副老花镜）。发「帮助」看全部用法。")
    assert chat.event("o-new", "subscribe", create_time=1_700_000_000) == welcome
    with app.extensions["wishbot"].db.sessions() as s:
        keys = s.scalars(select(ProcessedMessage.key)).all()
    assert len(keys) == 1 and keys[0].startswith("wechat:o-new:1700000000:")  # and which event it was


def test_unsubscribe_is_answered_with_success(chat):
    assert chat.event("o-wang", "unsubscribe") is None


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["status"] == "ok"


def test_an_unconfigured_channel_answers_404(sqlite_url):
    from app import create_app
    from bot.settings import Settings

    client = create_app(Settings(database_url=sqlite_url)).test_client()
    params = {"timestamp": "1", "nonce": "n", "signature": signature("", "1", "n"), "echostr": "x"}
    assert client.get("/wechat", query_string=params).status_code == 404
    assert client.post("/wecom", query_string=params, data=b"<xml/>").status_code == 404


def test_a_menu_click_runs_its_key_as_a_command(chat):
    from bot.channels import simulate as sim

    reply = chat.post(sim.build_event("o-wang", "CLICK", event_key="我的心愿", create_time=1_700_000_001))
    assert reply == "您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。"


def test_a_long_reply_is_cut_to_what_wechat_accepts():
    from composition.conversation import MAX_REPLY_BYTES, fit_reply

    long = "\n".join(f"第{n}行：" + "很" * 30 for n in range(100))
    cut = fit_reply(long)
    assert len(cut.encode()) <= MAX_REPLY_BYTES and cut.endswith("管理台查看。") and cut.startswith("第0行")
    assert fit_reply("短回复") == "短回复"


@pytest.mark.parametrize("openid, msg_id", [("o" * 65, 1), ("o-wang", int("9" * 130))])
def test_ids_too_long_to_be_wechats_are_malformed(chat, client, app, openid, msg_id):
    xml = simulate.build_text_message(openid, "帮助", msg_id=msg_id)
    params, body = simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=AES_KEY)
    assert client.post("/wechat", query_string=params, data=body).status_code == 400
    assert count(app, ProcessedMessage) == 0


WECOM = dict(wecom_token="QDG6eK", wecom_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
             wecom_corp_id="wx5823bf96d3bd56c7")
WECOM_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="


@pytest.fixture
def wecom_client(sqlite_url):
    from app import create_app
    from bot.settings import Settings

    return create_app(Settings(database_url=sqlite_url, **WECOM)).test_client()


def test_wecom_url_verification_with_the_official_vector(wecom_client):
    params = {"msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "timestamp": "1409659589",
              "nonce": "263014780", "echostr": WECOM_ECHO}
    response = wecom_client.get("/wecom", query_string=params)
    assert response.status_code == 200 and response.data == b"1616140317555161061"
    assert wecom_client.get("/wecom", query_string={**params, "nonce": "1"}).status_code == 403


def test_a_wecom_message_gets_an_encrypted_reply(wecom_client):
    xml = simulate.build_text_message("zhangsan", "帮助", msg_id=31, agent_id="218")
    params, body = simulate.sign_wecom_request(xml, token=WECOM["wecom_token"], corp_id=WECOM["wecom_corp_id"],
                                               aes_key=WECOM["wecom_aes_key"])
    response = wecom_client.post("/wecom", query_string=params, data=body)
    assert response.status_code == 200 and b"<Encrypt>" in response.data
    reply = simulate.read_reply(response.data, token=WECOM["wecom_token"], appid=WECOM["wecom_corp_id"],
                                aes_key=WECOM["wecom_aes_key"])
    assert reply == HELP["resident"]  # a stranger is a resident
