"""/sim outside the demo cannot be used to impersonate (issue 9, point 5): a login speaks only as
residents and members inside its scope, never as staff or an admin, and the check is made again
inside the message's own transaction, so a claim racing a 查询 leaks nothing."""
from __future__ import annotations

import re

from sqlalchemy import select

from composition.conversation import Conversation
from models import Claim, Person, Wish
from web.sim import OUT_OF_SCOPE

from .test_dashboard import csrf, log_in
from .test_sim import person_id, say

SUN_PHONE = "13800000003"  # 孙桂芝, a resident of 东山社区


def speakable(client) -> set[str]:
    """The people the simulator offers to speak as."""
    page = client.get("/sim/").get_data(as_text=True)
    return set(re.findall(r'<option value="\d+" data-roles="[^"]*">([^（<]+)（', page))


def test_no_login_may_speak_as_staff_or_an_admin_not_even_itself(app, client, staff):
    log_in(client, "boss")
    assert speakable(client) == {"王秀兰", "赵德明", "孙桂芝", "李建国", "陈晓梅"}  # no grid worker
    token = csrf(client, "/sim/")
    assert say(client, person_id(app, "o-liu"), "统计", token).status_code == 400
    assert say(client, person_id(app, "o-wang"), "我的心愿", token).get_json() == {
        "reply": "您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。"}

    client = app.test_client()
    log_in(client, "liufang")
    assert speakable(client) == {"王秀兰"}  # the one resident of her grid; not herself
    token = csrf(client, "/sim/")
    assert say(client, person_id(app, "o-liu"), "审核 1 通过", token).status_code == 400  # herself
    assert client.get(f"/sim/feed?person={person_id(app, 'o-liu')}").status_code == 404


def published_in_dongshan(chat) -> int:
    assert chat.say("o-sun", "许愿 想要一个书包") == "收到您的心愿 #1，网格员审核后会发布。"
    assert chat.say("o-zhou", "审核 1 通过") == "心愿 #1 已发布到志愿者群。"
    return 1


def claims_of(app, wish_id: int) -> list[str]:
    with app.extensions["wishbot"].db.sessions() as session:
        return list(session.scalars(select(Claim.status).where(Claim.wish_id == wish_id)))


def test_a_member_spoken_for_cannot_claim_outside_the_scope(app, client, chat, staff):
    number = published_in_dongshan(chat)
    log_in(client, "xincheng")
    reply = say(client, person_id(app, "o-li"), f"认领 {number}", csrf(client, "/sim/")).get_json()
    assert reply == {"reply": OUT_OF_SCOPE}
    assert claims_of(app, number) == []
    assert chat.say("o-li", f"认领 {number}").startswith(f"认领成功！心愿 #{number}")  # he himself may


def claim_committed_elsewhere(app, wish_id: int, openid: str) -> None:
    """Another request (the member himself, or a second /sim tab) claims and commits."""
    with app.extensions["wishbot"].db.transaction() as session:
        wish = session.scalar(select(Wish).where(Wish.id == wish_id).with_for_update())
        wish.claim_by(session.scalar(select(Person).where(Person.openid == openid)))


def test_a_claim_committed_after_the_first_check_still_keeps_the_details_out(app, client, chat, staff, monkeypatch):
    number = published_in_dongshan(chat)
    log_in(client, "xincheng")
    token = csrf(client, "/sim/")
    original = Conversation.handle

    def claim_first(self, inbound, *args):
        if inbound.text == f"查询 {number}":
            claim_committed_elsewhere(app, number, "o-li")
        return original(self, inbound, *args)

    monkeypatch.setattr(Conversation, "handle", claim_first)
    reply = say(client, person_id(app, "o-li"), f"查询 {number}", token).get_json()
    assert reply == {"reply": OUT_OF_SCOPE}


def test_a_claim_committed_while_the_query_runs_still_keeps_the_details_out(app, client, chat, staff, monkeypatch):
    """A 查询 reads committed data as it goes (autocommit reads on both databases): the claim
    lands between the check before the handler and the 查询 itself, and the check after the
    handler catches it."""
    number = published_in_dongshan(chat)
    log_in(client, "xincheng")
    token = csrf(client, "/sim/")
    original = Conversation._run

    def claim_meanwhile(ctx, match):
        if match.keyword == "查询":
            claim_committed_elsewhere(app, number, "o-li")
        return original(ctx, match)

    monkeypatch.setattr(Conversation, "_run", staticmethod(claim_meanwhile))
    reply = say(client, person_id(app, "o-li"), f"查询 {number}", token).get_json()
    assert SUN_PHONE not in str(reply) and "孙桂芝" not in str(reply)
    assert reply == {"reply": OUT_OF_SCOPE}
