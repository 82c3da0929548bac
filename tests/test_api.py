"""The JSON API with bearer tokens."""
from __future__ import annotations

import pytest

from models import ApiToken
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
