"""One identity per channel: an Official Account openid and a WeCom UserID are separate; a
WeCom message finds a person only by their UserID; private notices go through the channel the
person last wrote on (WeCom application messages with the agent id), falling back to the other.
A grid worker works entirely from WeCom. Against local stand-ins with the real protocol."""
from __future__ import annotations

import itertools
import json

import pytest
from sqlalchemy import select
from werkzeug import Response

from bot.channels import simulate
from handlers import directory
from models import Notice, Person, Wish

from .chat import Chat
from .conftest import make_settings, wait_for
from .world import build_world

CORP, AGENT = "wwcorp0001", "1000002"
WECOM = dict(wecom_token="QDG6eK", wecom_aes_key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
             wecom_corp_id=CORP, wecom_agent_id=AGENT, wecom_secret="wecom-secret")
OK = {"errcode": 0, "errmsg": "ok"}
WECOM_SEND = "/cgi-bin/message/send"
_ids = itertools.count(8_000_000_000_000_000_000)


class WeComChat(Chat):
    def wecom(self, userid: str, text: str) -> str | None:
        """A WeCom application message from `userid`, signed and encrypted as WeCom sends it."""
        xml = simulate.build_text_message(userid, text, account=CORP, agent_id=AGENT, msg_id=next(_ids))
        params, body = simulate.sign_wecom_request(xml, token=WECOM["wecom_token"], corp_id=CORP,
                                                   aes_key=WECOM["wecom_aes_key"])
        response = self.client.post("/wecom", query_string=params, data=body)
        assert response.status_code == 200, response.data
        return simulate.read_reply(response.data, token=WECOM["wecom_token"], appid=CORP,
                                   aes_key=WECOM["wecom_aes_key"]) if response.data else None

    def wecom_sends(self) -> list[dict]:
        self.settle()
        return [json.loads(request.data) for request, _ in self.api.log if request.path == WECOM_SEND]


@pytest.fixture
def chat(database_url, httpserver):
    from app import create_app

    state = {"wecom": OK}
    httpserver.expect_request("/cgi-bin/stable_token").respond_with_json({"access_token": "T", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/gettoken").respond_with_json({"errcode": 0, "access_token": "W", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/message/custom/send").respond_with_json(OK)
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_json(OK)
    httpserver.expect_request(WECOM_SEND).respond_with_handler(
        lambda request: Response(json.dumps(state["wecom"]), content_type="application/json"))
    app = create_app(make_settings(database_url, httpserver.url_for("").rstrip("/"), **WECOM))
    runtime = app.extensions["wishbot"]
    build_world(runtime.db)
    with runtime.db.transaction() as session:  # 刘芳 works from WeCom as "liufang" too
        directory.set_identities(session, session.scalar(select(Person).where(Person.openid == "o-liu")),
                                 None, "liufang")
    chat = WeComChat(app.test_client(), app, httpserver)
    chat.wecom_answer = state
    yield chat
    runtime.jobs.join()
    runtime.jobs.close()
    runtime.db.dispose()


def test_a_grid_worker_works_from_wecom_and_is_told_there(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")
    assert chat.wecom("liufang", "审核 1 通过").startswith("心愿 #1 已发布")
    assert chat.wecom("liufang", "派单 1 李建国").startswith("心愿 #1 已派给 李建国")
    assert chat.say("o-li", "放弃 1").startswith("已放弃心愿 #1")
    [told] = [m for m in chat.wecom_sends() if "您派的心愿" in m["text"]["content"]]
    assert told["touser"] == "liufang" and told["agentid"] == int(AGENT) and told["msgtype"] == "text"
    assert not any("您派的心愿" in n for n in chat.private_notices("o-liu"))
    with chat.runtime.db.sessions() as session:
        liu = session.scalar(select(Person).where(Person.wecom_userid == "liufang"))
        assert (liu.openid, liu.last_channel) == ("o-liu", "wecom")
        assert session.get(Wish, 1).reviewed_by_id == liu.id


def test_after_writing_on_the_official_account_notices_go_there(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.wecom("liufang", "审核 1 通过")
    chat.wecom("liufang", "派单 1 李建国")
    chat.say("o-liu", "帮助")  # now she last wrote on the Official Account
    chat.settle()  # (a read-only message is recorded by a job)
    chat.say("o-li", "放弃 1")
    assert any("您派的心愿" in n for n in chat.private_notices("o-liu"))
    assert not any("您派的心愿" in m["text"]["content"] for m in chat.wecom_sends())


def test_a_wecom_refusal_falls_back_to_the_official_account(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.wecom("liufang", "审核 1 通过")
    chat.wecom("liufang", "派单 1 李建国")
    chat.wecom_answer["wecom"] = {"errcode": 0, "errmsg": "ok", "invaliduser": "liufang"}
    chat.say("o-li", "放弃 1")
    wait_for(lambda: any("您派的心愿" in n for n in chat.private_notices("o-liu")))
    with chat.runtime.db.sessions() as session:
        rows = session.scalars(select(Notice).where(Notice.event == "released", Notice.audience == "private",
                                                    Notice.text.contains("您派的心愿")).order_by(Notice.id)).all()
        assert [(n.channel, n.status) for n in rows] == [("wecom", "failed"), ("official", "sent")]
        assert rows[1].fallback_for_id == rows[0].id


def test_a_wecom_userid_never_finds_an_official_account_user(chat):
    chat.say("o-wang", "许愿 需要一个助听器")
    reply = chat.wecom("o-wang", "我的心愿")  # the same string, but as a WeCom UserID
    assert reply == "您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。"
    with chat.runtime.db.sessions() as session:
        wang = session.scalar(select(Person).where(Person.openid == "o-wang"))
        stranger = session.scalar(select(Person).where(Person.wecom_userid == "o-wang"))
        assert stranger is not None and stranger.id != wang.id and stranger.openid is None
        assert wang.wecom_userid is None


def test_without_a_wecom_application_notices_take_the_official_account(database_url, httpserver):
    """WeCom callbacks configured, but no application secret to send with: the notice goes the other way."""
    from app import create_app

    httpserver.expect_request("/cgi-bin/stable_token").respond_with_json({"access_token": "T", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/message/custom/send").respond_with_json(OK)
    httpserver.expect_request("/cgi-bin/webhook/send").respond_with_json(OK)
    receive_only = {k: v for k, v in WECOM.items() if k not in ("wecom_secret", "wecom_agent_id")}
    app = create_app(make_settings(database_url, httpserver.url_for("").rstrip("/"), **receive_only))
    runtime = app.extensions["wishbot"]
    build_world(runtime.db)
    with runtime.db.transaction() as session:
        directory.set_identities(session, session.scalar(select(Person).where(Person.openid == "o-liu")),
                                 None, "liufang")
    chat = WeComChat(app.test_client(), app, httpserver)
    try:
        chat.say("o-wang", "许愿 需要一副老花镜")
        chat.wecom("liufang", "审核 1 通过")
        chat.wecom("liufang", "派单 1 李建国")
        chat.say("o-li", "放弃 1")
        wait_for(lambda: any("您派的心愿" in n for n in chat.private_notices("o-liu")))
    finally:
        runtime.jobs.join()
        runtime.jobs.close()
        runtime.db.dispose()
