"""Private notices past the customer-service window: per person, when they last wrote and how
many customer-service messages are left; outside it, or when WeChat answers 45015/45047, a
template message (our own JSON with client_msg_id) with fields within WeChat's limits and the
wish's link; the grid workers phone it through only without a template or when it fails for good."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select, update
from werkzeug import Response

from bot.channels import simulate
from models import Notice, Person, utcnow

from .chat import Chat
from .conftest import make_settings, wait_for
from .world import GRIDWORKERS_KEY, build_world

TEMPLATES = {"claimed": "TPL-CLAIMED", "completed": "TPL-COMPLETED", "released": "TPL-RELEASED",
             "registration": "TPL-REG"}
PUBLIC = "https://wish.example.org"
OK = {"errcode": 0, "errmsg": "ok"}
SEND, TEMPLATE = "/cgi-bin/message/custom/send", "/cgi-bin/message/template/send"


class StandIn:
    """WeChat's APIs: customer-service sends answered by `cs_answer(touser)`, template sends by
    `template_answer`."""

    def __init__(self, httpserver):
        self.server = httpserver
        self.cs_answer = lambda touser: OK
        self.template_answer = OK
        httpserver.expect_request("/cgi-bin/stable_token").respond_with_json({"access_token": "T", "expires_in": 7200})
        httpserver.expect_request(SEND).respond_with_handler(
            lambda request: _json(self.cs_answer(json.loads(request.data)["touser"])))
        httpserver.expect_request(TEMPLATE).respond_with_handler(lambda request: _json(self.template_answer))
        httpserver.expect_request("/cgi-bin/webhook/send").respond_with_json(OK)

    def bodies(self, path: str, touser: str | None = None) -> list[dict]:
        return [json.loads(request.data) for request, _ in self.server.log if request.path == path
                and (touser is None or json.loads(request.data).get("touser") == touser)]


def _json(body: dict) -> Response:
    return Response(json.dumps(body), content_type="application/json")


def _make_chat(database_url, httpserver, **changes):
    from app import create_app

    stand_in = StandIn(httpserver)
    app = create_app(make_settings(database_url, httpserver.url_for("").rstrip("/"), **changes))
    build_world(app.extensions["wishbot"].db)
    return Chat(app.test_client(), app, httpserver), stand_in, app


@pytest.fixture
def reach(database_url, httpserver):
    chat, stand_in, app = _make_chat(database_url, httpserver, wechat_template_ids=TEMPLATES, public_url=PUBLIC)
    yield chat, stand_in
    app.extensions["wishbot"].jobs.join()
    app.extensions["wishbot"].jobs.close()
    app.extensions["wishbot"].db.dispose()


@pytest.fixture
def no_templates(database_url, httpserver):
    chat, stand_in, app = _make_chat(database_url, httpserver)
    yield chat, stand_in
    app.extensions["wishbot"].jobs.join()
    app.extensions["wishbot"].jobs.close()
    app.extensions["wishbot"].db.dispose()


def person(chat, openid: str) -> Person:
    chat.settle()  # a read-only message's window is recorded by a job
    with chat.runtime.db.sessions() as session:
        return session.scalar(select(Person).where(Person.openid == openid))


def age_window(chat, openid: str, **ago) -> None:
    """As if `openid` last wrote that long ago."""
    with chat.runtime.db.transaction() as session:
        session.execute(update(Person).where(Person.openid == openid).values(
            window_until=utcnow() + timedelta(hours=48) - timedelta(**ago), window_sends=5))


def settled(chat) -> None:
    def done():
        with chat.runtime.db.sessions() as session:
            return session.scalar(select(Notice.id).where(Notice.status.in_(["pending", "sending"]))) is None
    chat.settle()
    wait_for(done)


def wish_for_wang(chat) -> int:
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    return 1


def test_writing_opens_five_sends_for_48_hours_and_each_send_uses_one(reach):
    chat, stand_in = reach
    before = utcnow()
    wish_for_wang(chat)
    settled(chat)
    wang = person(chat, "o-wang")
    until = wang.window_until if wang.window_until.tzinfo else wang.window_until.replace(tzinfo=before.tzinfo)
    assert timedelta(hours=47, minutes=59) < until - before < timedelta(hours=48, minutes=1)
    assert len(stand_in.bodies(SEND, "o-wang")) == 1  # 已发布
    assert wang.window_sends == 4 and wang.last_channel == "wechat"


def test_a_click_opens_three_sends_for_a_minute(reach):
    chat, _ = reach
    chat.post(simulate.build_event("o-zhao", "CLICK", event_key="帮助"))
    zhao = person(chat, "o-zhao")
    assert zhao.window_sends == 3
    until = zhao.window_until if zhao.window_until.tzinfo else zhao.window_until.replace(tzinfo=utcnow().tzinfo)
    assert timedelta(seconds=50) < until - utcnow() <= timedelta(minutes=1)


def test_after_48_hours_the_claim_reaches_the_resident_as_a_template_message(reach):
    chat, stand_in = reach
    number = wish_for_wang(chat)
    settled(chat)
    age_window(chat, "o-wang", hours=49)
    chat.say("o-li", f"认领 {number}")
    settled(chat)
    assert [b for b in stand_in.bodies(SEND, "o-wang") if "已有人认领" in b["text"]["content"]] == []
    [sent] = stand_in.bodies(TEMPLATE, "o-wang")
    assert sent["template_id"] == "TPL-CLAIMED"
    assert sent["url"].startswith(f"{PUBLIC}/w/")
    assert sent["client_msg_id"].startswith("wishbot-notice-")
    assert sent["data"] == {"thing1": {"value": "需要一副老花镜"}, "character_string2": {"value": "#1"},
                            "phrase3": {"value": "已认领"}, "thing4": {"value": "李建国（市税务局）"}}
    assert not any("请电话转告" in t for t in chat.group_pushes(GRIDWORKERS_KEY))


@pytest.mark.parametrize("refusal", [45015, 45047])
def test_when_wechat_refuses_the_customer_service_message_a_template_goes(reach, refusal):
    chat, stand_in = reach
    number = wish_for_wang(chat)
    chat.say("o-li", f"认领 {number}")
    stand_in.cs_answer = lambda touser: {"errcode": refusal, "errmsg": "refused"} if touser == "o-wang" else OK
    chat.say("o-li", f"完成 {number} 已送到")
    settled(chat)
    [sent] = [b for b in stand_in.bodies(TEMPLATE, "o-wang") if b["template_id"] == "TPL-COMPLETED"]
    assert sent["data"]["phrase3"] == {"value": "已完成"} and sent["data"]["thing4"] == {"value": "收到了请回复：确认 1"}
    with chat.runtime.db.sessions() as session:
        row = session.scalar(select(Notice).where(Notice.event == "completed", Notice.audience == "private"))
        assert row.status == "sent" and row.fallback_for_id is None
    assert not person(chat, "o-wang").window_open(utcnow())  # the next notice goes as a template at once


def claimed_template(chat, stand_in, wish: str) -> dict:
    """The template message 王秀兰 gets when her wish is claimed three days after she last wrote."""
    chat.say("o-wang", f"许愿 {wish}")
    chat.say("o-liu", "审核 1 通过")
    settled(chat)
    age_window(chat, "o-wang", hours=72)
    chat.say("o-li", "认领 1")
    settled(chat)
    [sent] = stand_in.bodies(TEMPLATE, "o-wang")
    return sent


def test_fields_stay_within_twenty_characters_without_newlines(reach):
    sent = claimed_template(*reach, "家里的老式洗衣机坏了好几天了\n想请懂电器的志愿者上门看看能不能修好")
    for key, field in sent["data"].items():
        assert "\n" not in field["value"] and len(field["value"]) <= (5 if key.startswith("phrase") else 20)
    assert sent["data"]["thing1"]["value"] == "家里的老式洗衣机坏了好几天了 想请懂电…"


def test_a_template_refused_for_good_goes_to_the_grid_workers(reach):
    chat, stand_in = reach
    number = wish_for_wang(chat)
    settled(chat)
    age_window(chat, "o-wang", hours=50)
    stand_in.template_answer = {"errcode": 40037, "errmsg": "invalid template_id"}
    chat.say("o-li", f"认领 {number}")
    settled(chat)
    assert any("请电话转告" in t and "已有人认领" in t for t in chat.group_pushes(GRIDWORKERS_KEY))


def test_without_a_template_the_grid_workers_phone_it_through_as_before(no_templates):
    chat, stand_in = no_templates
    number = wish_for_wang(chat)
    settled(chat)
    age_window(chat, "o-wang", hours=50)
    # With no template to fall back on, the customer-service message is tried all the same.
    stand_in.cs_answer = lambda touser: {"errcode": 45015, "errmsg": "out of time"} if touser == "o-wang" else OK
    chat.say("o-li", f"认领 {number}")
    settled(chat)
    assert stand_in.bodies(TEMPLATE) == []
    assert any("请电话转告" in t and "已有人认领" in t for t in chat.group_pushes(GRIDWORKERS_KEY))


def test_a_retried_template_send_carries_the_same_client_msg_id(reach):
    """WeChat drops a repeat with the same client_msg_id within 10 minutes: a retry after a
    lost answer reaches the resident once."""
    chat, stand_in = reach
    number = wish_for_wang(chat)
    settled(chat)
    age_window(chat, "o-wang", hours=50)
    chat.runtime.jobs.intervals = (0.2,) * 5
    stand_in.template_answer = {"errcode": -1, "errmsg": "system busy"}
    chat.say("o-li", f"认领 {number}")
    wait_for(lambda: len(stand_in.bodies(TEMPLATE, "o-wang")) >= 1)
    stand_in.template_answer = OK
    settled(chat)
    first, second = stand_in.bodies(TEMPLATE, "o-wang")
    assert first["client_msg_id"] == second["client_msg_id"]


def test_a_template_quotes_the_wish_scrubbed(reach):
    """A template message shows on a locked phone and passes through WeChat's template library:
    the wish's text in it is scrubbed like every text outside the chat (models.privacy)."""
    sent = claimed_template(*reach, "需要老花镜，电话13912345678")
    assert sent["data"]["thing1"] == {"value": "需要老花镜，电话139****5678"}
