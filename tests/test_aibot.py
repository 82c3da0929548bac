"""WeCom's AI bot in the grid workers' internal group: an @-mention, sealed JSON with an empty
receive id, acts as the sender's WeCom identity and answers in the group (a sealed stream)."""
from __future__ import annotations

import json
import time

import pytest
from sqlalchemy import select
from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.wechat import parse_xml, signature
from handlers import directory
from models import Person, Wish

from .chat import Chat
from .conftest import make_settings
from .world import build_world

TOKEN, KEY = "aibotToken", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


def seal(payload: dict, nonce: str = "nonce1") -> tuple[dict, bytes]:
    """As WeCom sends it: the JSON sealed with an empty receive id, msg_signature in the URL."""
    timestamp = str(int(time.time()))
    sealed = parse_xml(WeChatCrypto(TOKEN, KEY, "").encrypt_message(
        json.dumps(payload, ensure_ascii=False), nonce, timestamp))
    params = {"msg_signature": sealed["MsgSignature"], "timestamp": timestamp, "nonce": nonce}
    return params, json.dumps({"encrypt": sealed["Encrypt"]}).encode()


def opened(body: bytes) -> dict:
    reply = json.loads(body)
    assert reply["msgsignature"] == signature(TOKEN, str(reply["timestamp"]), reply["nonce"], reply["encrypt"])
    crypto = WeChatCrypto(TOKEN, KEY, "")
    return json.loads(crypto.decrypt_message({"Encrypt": reply["encrypt"]}, reply["msgsignature"],
                                             str(reply["timestamp"]), reply["nonce"]))


def mention(userid: str, text: str, msgid: str) -> dict:
    return {"msgid": msgid, "aibotid": "AIBOT1", "chatid": "wrkSFfCgAAxxxx", "chattype": "group",
            "from": {"userid": userid}, "response_url": "https://example.invalid/r", "msgtype": "text",
            "text": {"content": f"@微心愿助手 {text}"}}


@pytest.fixture
def group(sqlite_url, wechat_api):
    from app import create_app

    app = create_app(make_settings(sqlite_url, wechat_api.url_for("").rstrip("/"),
                                   wecom_aibot_token=TOKEN, wecom_aibot_aes_key=KEY))
    runtime = app.extensions["wishbot"]
    build_world(runtime.db)
    with runtime.db.transaction() as session:
        directory.set_identities(session, session.scalar(select(Person).where(Person.openid == "o-liu")),
                                 None, "liufang")
    yield app, Chat(app.test_client(), app, wechat_api)
    runtime.jobs.join()
    runtime.jobs.close()
    runtime.db.dispose()


def test_an_at_mention_reviews_a_wish_and_answers_in_the_group(group):
    app, chat = group
    client = app.test_client()
    chat.say("o-wang", "许愿 需要一副老花镜")
    params, body = seal(mention("liufang", "审核 1 通过", "m1"))
    response = client.post("/wecom/aibot", query_string=params, data=body)
    assert response.status_code == 200
    answer = opened(response.data)
    assert answer["msgtype"] == "stream" and answer["stream"]["finish"] is True
    assert answer["stream"]["content"].startswith("心愿 #1 已发布")
    with app.extensions["wishbot"].db.sessions() as session:
        assert session.get(Wish, 1).status == "published"
    # The same signed request again is a replay (issue 9's window, as on /wechat and /wecom).
    assert client.post("/wecom/aibot", query_string=params, data=body).status_code == 403
    # WeCom's retry of the message (same msgid, signed anew) acts once and gets the same answer.
    params, body = seal(mention("liufang", "审核 1 通过", "m1"), nonce="nonce2")
    again = client.post("/wecom/aibot", query_string=params, data=body)
    assert opened(again.data)["stream"]["content"] == answer["stream"]["content"]
    with app.extensions["wishbot"].db.sessions() as session:
        assert [e.action for e in session.get(Wish, 1).events].count("publish") == 1


def test_a_stale_at_mention_is_refused(group):
    app, chat = group
    chat.say("o-wang", "许愿 需要一副老花镜")
    timestamp = str(int(time.time()) - 3600)  # an hour old: outside WISHBOT_TIMESTAMP_WINDOW
    sealed = parse_xml(WeChatCrypto(TOKEN, KEY, "").encrypt_message(
        json.dumps(mention("liufang", "审核 1 通过", "m9"), ensure_ascii=False), "n9", timestamp))
    response = app.test_client().post("/wecom/aibot", data=json.dumps({"encrypt": sealed["Encrypt"]}),
                                      query_string={"msg_signature": sealed["MsgSignature"],
                                                    "timestamp": timestamp, "nonce": "n9"})
    assert response.status_code == 403
    with app.extensions["wishbot"].db.sessions() as session:
        assert session.get(Wish, 1).status == "pending_review"


def test_the_group_bot_knows_people_only_by_their_wecom_identity(group):
    app, chat = group
    chat.say("o-wang", "许愿 需要一副老花镜")
    params, body = seal(mention("o-liu", "审核 1 通过", "m2"))  # an openid is no WeCom UserID
    answer = opened(app.test_client().post("/wecom/aibot", query_string=params, data=body).data)
    assert answer["stream"]["content"] == "「审核」不是您能用的命令。发「帮助」看看您能做什么。"  # a newcomer, a resident
    with app.extensions["wishbot"].db.sessions() as session:
        assert session.get(Wish, 1).status == "pending_review"


def test_unsigned_or_unconfigured_is_refused(group, sqlite_url, wechat_api):
    app, _chat = group
    params, body = seal(mention("liufang", "帮助", "m3"))
    assert app.test_client().post("/wecom/aibot", query_string={**params, "nonce": "other"},
                                  data=body).status_code == 403
    assert app.test_client().post("/wecom/aibot", query_string=params, data=b"not json").status_code == 400
    from app import create_app

    bare = create_app(make_settings(sqlite_url, wechat_api.url_for("").rstrip("/")))
    assert bare.test_client().post("/wecom/aibot", query_string=params, data=body).status_code == 404
    bare.extensions["wishbot"].db.dispose()


def test_the_callback_url_is_verified(group):
    app, _chat = group
    timestamp, nonce = str(int(time.time())), "n2"
    sealed = parse_xml(WeChatCrypto(TOKEN, KEY, "").encrypt_message("8812730", nonce, timestamp))
    params = {"msg_signature": sealed["MsgSignature"], "timestamp": timestamp, "nonce": nonce,
              "echostr": sealed["Encrypt"]}
    response = app.test_client().get("/wecom/aibot", query_string=params)
    assert response.status_code == 200 and response.data == b"8812730"
    assert app.test_client().get("/wecom/aibot", query_string={**params, "timestamp": "1"}).status_code == 403
