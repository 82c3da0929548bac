"""The JSON API with bearer tokens."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models import ApiToken, Person, Wish, WishEvent, local_time, utcnow
from models.privacy import scrub
from models.scope import Scope
from web.api import hash_token


@pytest.fixture
def token(app) -> str:
    with app.extensions["wishbot"].db.transaction() as s:
        s.add(ApiToken(name="test", token_hash=hash_token("s3cret-token")))
    return "s3cret-token"


def get(client, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(path, headers=headers)


def test_one_wish_with_its_claims(chat, client, token):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    response = get(client, "/api/wishes/1", token)
    assert response.status_code == 200
    body = response.json
    assert body["id"] == 1 and body["status"] == "claimed" and body["slots"] == 1
    assert body["community"] == "新城社区" and body["grid"] == "第一网格"
    assert body["claims"] == [{**body["claims"][0], "openid": "o-li", "status": "active"}]
    assert "13800000001" not in response.get_data(as_text=True)


def test_a_wishs_moments_are_local_times_with_their_offset_like_its_timeline(chat, client, token):
    """A client that files the ledger by month reads the same month the figures count."""
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    body = get(client, "/api/wishes/1", token).json
    created, published = (datetime.fromisoformat(body[k]) for k in ("created_at", "published_at"))
    submitted, reviewed = (datetime.fromisoformat(e["at"]) for e in body["timeline"][:2])
    assert created.utcoffset() == submitted.utcoffset() == local_time(utcnow()).utcoffset()
    assert abs(created - submitted) < timedelta(seconds=1) and abs(published - reviewed) < timedelta(seconds=1)
    assert body["completed_at"] is None


def test_listing_filters(chat, client, token):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-sun", "许愿 孩子想要书包")
    chat.say("o-liu", "审核 1 通过")
    ids = lambda query: [w["id"] for w in get(client, f"/api/wishes{query}", token).json["wishes"]]  # noqa: E731
    assert ids("") == [1, 2]
    assert ids("?status=published") == [1]
    assert ids("?community=东山社区") == [2]
    assert ids("?grid=第一网格&community=新城社区") == [1]


def test_tokens_are_required(chat, client, token):
    assert get(client, "/api/wishes").status_code == 401
    assert get(client, "/api/wishes/1", "wrong").status_code == 401
    assert client.get("/api/wishes", headers={"Authorization": token}).status_code == 401


def test_unknown_wish_is_404(chat, client, token):
    assert get(client, "/api/wishes/999", token).status_code == 404


@pytest.mark.parametrize("path", [
    "/api/wishes/99999999999999999999", "/api/wishes/3000000000", "/api/wishes/²", "/api/wishes/-1",
])
def test_numbers_that_cannot_be_a_wish_are_404(chat, client, token, path):
    assert get(client, path, token).status_code == 404


@pytest.mark.parametrize("query", ["?limit=-1", "?offset=99999999999999999999", "?status=%00",
                                   "?community=%00", "?limit=abc"])
def test_odd_query_strings_never_fail(chat, client, token, query):
    assert get(client, f"/api/wishes{query}", token).status_code == 200


def _many_wishes(app, count: int) -> None:
    """`count` wishes of 王秀兰, each published and claimed by 李建国, with their timeline."""
    from sqlalchemy import select

    from models import Claim, Person, Wish, WishEvent

    with app.extensions["wishbot"].db.transaction() as s:
        wang = s.scalar(select(Person).where(Person.openid == "o-wang"))
        li = s.scalar(select(Person).where(Person.openid == "o-li"))
        for i in range(count):
            wish = Wish(content=f"心愿{i}", requester=wang, community_id=wang.community_id,
                        grid_id=wang.grid_id, status="claimed")
            wish.claims.append(Claim(member=li, status="active"))
            s.add(wish)
            s.flush()
            s.add_all([WishEvent(wish_id=wish.id, actor_id=wang.id, channel="wechat", action="submit"),
                       WishEvent(wish_id=wish.id, actor_id=li.id, channel="wechat", action="claim")])


def _queries_for(app, client, path, token) -> tuple[int, dict]:
    from sqlalchemy import event

    engines = app.extensions["wishbot"].db.engines  # reads have their own on PostgreSQL
    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    for engine in engines:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        body = get(client, path, token).json
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listener)
    return len(statements), body


def test_a_page_costs_the_same_queries_whatever_its_size(app, world, client, token):
    _many_wishes(app, 40)
    small, body = _queries_for(app, client, "/api/wishes?limit=4", token)
    large, body_large = _queries_for(app, client, "/api/wishes?limit=40", token)
    assert (len(body["wishes"]), len(body_large["wishes"])) == (4, 40)
    assert 0 < small == large
    item = body_large["wishes"][39]
    assert item["claims"][0]["name"] == "李建国" and item["claims"][0]["unit"] == "市税务局"
    assert [e["actor"] for e in item["timeline"]] == ["王**", "李建国"]
    assert item["street"] == "新兴街道" and item["requester"] == "王**"


def test_pages_follow_the_cursor(app, world, client, token):
    _many_wishes(app, 25)
    seen, after = [], None
    while True:
        body = get(client, "/api/wishes?limit=10" + (f"&after={after}" if after else ""), token).json
        seen += [w["id"] for w in body["wishes"]]
        after = body["next_after"]
        if after is None:
            break
    assert seen == list(range(1, 26))
    assert [w["id"] for w in get(client, "/api/wishes?limit=10&offset=20", token).json["wishes"]] == list(range(21, 26))
    assert len(get(client, "/api/wishes?limit=100000", token).json["wishes"]) == 25  # capped, not refused


def _varied_wishes(chat) -> None:
    """Wishes in two communities and every state that changes an item: claims completed with
    hours, given up, timelines that name the requester, a street-less community, no grid."""
    from handlers import directory

    chat.say("o-wang", "许愿 需要一副老花镜，电话13800000001，王秀兰")
    chat.say("o-zhao", "许愿 孩子想要书包")
    chat.say("o-sun", "许愿 帮忙修水龙头")
    chat.say("o-liu", "审核 1 通过 2人")
    chat.say("o-liu", "审核 2 驳回 重复了")
    chat.say("o-li", "认领 1")
    chat.say("o-chen", "认领 1")
    chat.say("o-li", "完成 1 送到了，王秀兰很高兴 2小时")
    chat.say("o-chen", "放弃 1")
    chat.say("o-zhou", "审核 3 通过")
    with chat.app.extensions["wishbot"].db.transaction() as s:
        directory.add_community(s, "无街道社区")
        directory.add_person(s, "o-far", "resident", "远方人", community="无街道社区")
    chat.say("o-far", "许愿 陪我聊聊天")


def test_a_page_is_what_wish_json_gives_for_each_wish(app, chat, client):
    """The page is built from plain rows; each item, and /api/wishes/<n>, is exactly what
    wish_json (an independent builder over the loaded ORM objects, below) makes of the wish,
    for tokens with and without contacts and a scoped one."""
    import json

    from flask import jsonify
    from sqlalchemy import select

    from models import Community, Wish
    from models.scope import Scope

    _varied_wishes(chat)
    db = app.extensions["wishbot"].db
    with db.transaction() as s:
        xincheng = s.scalar(select(Community.id).where(Community.name == "新城社区"))
        tokens = {
            "all-contacts": ApiToken(name="all-contacts", token_hash=hash_token("t-all-contacts"), contacts=True),
            "all": ApiToken(name="all", token_hash=hash_token("t-all")),
            "xincheng": ApiToken(name="xincheng", token_hash=hash_token("t-xincheng"), community_id=xincheng),
        }
        s.add_all(tokens.values())
    for name in tokens:
        body = get(client, "/api/wishes?limit=3", f"t-{name}").get_data()
        after = json.loads(body)["next_after"]
        more = get(client, f"/api/wishes?after={after}", f"t-{name}").get_data() if after else b'{"wishes": []}'
        items = json.loads(body)["wishes"] + json.loads(more)["wishes"]
        with db.sessions() as s:
            token = s.scalar(select(ApiToken).where(ApiToken.name == name))
            scope = Scope.of_token(token)
            wishes = s.scalars(scope.wishes(select(Wish)).order_by(Wish.id)).all()
            expected = [wish_json(w, scope) for w in wishes]
        assert len(items) == (4 if name != "xincheng" else 2)
        assert items == expected, name
        assert [get(client, f"/api/wishes/{w['id']}", f"t-{name}").json for w in expected] == expected, name
        # Byte for byte: the response is what jsonify makes of wish_json's items.
        with app.test_request_context():
            first = expected[:3]
            assert body == jsonify(wishes=first, count=len(first),
                                   next_after=first[-1]["id"] if len(first) == 3 else None).get_data()
        if name == "all":  # the case that scrubs: text, notes and the requester as actor
            assert "13800000001" not in more.decode() + body.decode()
            assert items[0]["requester"] == "王**" and items[0]["timeline"][0]["actor"] == "王**"


def test_a_page_is_four_queries_whatever_its_size(app, world, client, token):
    """The token, the page, its claims, its timeline: four statements for 1 item or 40."""
    _many_wishes(app, 40)
    counts = {limit: _queries_for(app, client, f"/api/wishes?limit={limit}", token)[0] for limit in (1, 7, 40)}
    assert counts == {1: 4, 7: 4, 40: 4}
    assert _queries_for(app, client, "/api/wishes?after=100", token)[0] == 2  # no items: no claims or timeline


# --- an independent oracle: the JSON of one wish from its loaded ORM objects -------------------

def event_json(event: WishEvent, masked: Person | None = None) -> dict:
    """For the API: with `masked` (the requester, for a reader without contact rights) their
    name is masked, as actor too, and the note is scrubbed of their details and any number."""
    actor = event.actor
    note = scrub(event.note, masked) if masked is not None and event.note else event.note
    return {
        "at": local_time(event.created_at).isoformat(),
        "actor": (actor.masked_name if masked is not None and actor.id == masked.id else actor.name)
        if actor else None,
        "channel": event.channel,
        "channel_label": event.channel_label,
        "action": event.action,
        "label": event.label,
        "before": event.before,
        "after": event.after,
        "note": note,
    }


def wish_json(wish: Wish, scope: Scope) -> dict:
    contacts = scope.may_see_contact(wish)
    requester = wish.requester
    return {
        "id": wish.id,
        "ref": wish.ref,
        "status": wish.status,
        "content": wish.content if contacts else scrub(wish.content, requester),
        "category": wish.category,
        "urgency": wish.urgency,
        "slots": wish.slots,
        "taken_slots": wish.taken_slots,
        "community": wish.community.name,
        "street": wish.community.street.name if wish.community.street else None,
        "grid": wish.grid.name if wish.grid else None,
        "requester": requester.name if contacts else requester.masked_name,
        **({"requester_phone": requester.phone, "requester_address": requester.address} if contacts else {}),
        "created_at": local_time(wish.created_at).isoformat(),
        "published_at": local_time(wish.published_at).isoformat() if wish.published_at else None,
        "completed_at": local_time(wish.completed_at).isoformat() if wish.completed_at else None,
        "confirmed_at": local_time(wish.confirmed_at).isoformat() if wish.confirmed_at else None,
        "rating": wish.rating,
        "claims": [
            {"openid": c.member.openid, "name": c.member.name, "status": c.status,
             "unit": c.member.unit.name if c.member.unit else None,
             "hours": c.hours, "hours_verified": c.hours_verified}
            for c in wish.claims
        ],
        "timeline": [event_json(event, None if contacts else wish.requester) for event in wish.events],
    }
