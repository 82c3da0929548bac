"""Outbound clients against real local HTTP servers and the real Redis (db 15)."""
from __future__ import annotations

import itertools
import json
import threading
import time

import pytest
import redis
from werkzeug import Request, Response

from bot.outbound.errors import DeliveryError, OutsideWindow, Throttled
from bot.outbound.official import OfficialAccountAPI
from bot.outbound.robot import MARKDOWN_LIMIT, TEXT_LIMIT, GroupRobot, split_message
from bot.outbound.tokens import AccessToken, MemoryTokenStore, RedisTokenStore
from bot.outbound.wecom_app import WeComAPI

TIMEOUT = 0.5
OK = {"errcode": 0, "errmsg": "ok"}
ROBOT_PATH = "/cgi-bin/webhook/send"
SEND_PATH = "/cgi-bin/message/custom/send"


@pytest.fixture
def rdb():
    client = redis.Redis(host="127.0.0.1", port=6379, db=15)
    client.flushdb()
    yield client
    client.flushdb()


def hits(httpserver, path: str) -> list[Request]:
    return [request for request, _ in httpserver.log if request.path == path]


def serve_tokens(httpserver, path: str, method: str) -> None:
    """A token endpoint that hands out T1, T2, … — a new token per fetch."""
    numbers = itertools.count(1)
    httpserver.expect_request(path, method=method).respond_with_handler(
        lambda _: Response(json.dumps({"access_token": f"T{next(numbers)}", "expires_in": 7200}),
                           content_type="application/json"))


@pytest.fixture
def official(httpserver):
    serve_tokens(httpserver, "/cgi-bin/stable_token", "POST")
    return OfficialAccountAPI(httpserver.url_for("/"), "wxappid", "s3cret", MemoryTokenStore(), TIMEOUT)


@pytest.fixture
def robot(httpserver):
    return GroupRobot(httpserver.url_for("/"), TIMEOUT)


# --- group robot ---------------------------------------------------------------------------------

def test_robot_text_with_bare_key(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH, method="POST", query_string={"key": "K1"}, json={
        "msgtype": "text", "text": {"content": "新心愿 #12", "mentioned_mobile_list": ["13800000000"]},
    }).respond_with_json(OK)
    robot.send_text("K1", "新心愿 #12", mentioned_mobiles=["13800000000"])
    assert len(hits(httpserver, ROBOT_PATH)) == 1


def test_robot_markdown_with_full_url(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH, method="POST", query_string={"key": "K2"}, json={
        "msgtype": "markdown", "markdown": {"content": "**#12** 已认领"},
    }).respond_with_json(OK)
    other_base = GroupRobot("http://127.0.0.1:9", TIMEOUT)  # the URL target must win over api_base
    other_base.send_markdown(httpserver.url_for(ROBOT_PATH) + "?key=K2", "**#12** 已认领")
    assert len(hits(httpserver, ROBOT_PATH)) == 1


def test_robot_text_without_mentions_sends_only_content(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH, json={"msgtype": "text", "text": {"content": "hi"}}).respond_with_json(OK)
    robot.send_text("K", "hi")
    assert len(hits(httpserver, ROBOT_PATH)) == 1


def test_robot_bad_key_is_not_retryable(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH).respond_with_json({"errcode": 93000, "errmsg": "invalid webhook url"})
    with pytest.raises(DeliveryError) as caught:
        robot.send_text("nope", "hi")
    assert caught.value.code == 93000
    assert caught.value.retryable is False
    assert "93000" in str(caught.value)


def test_robot_rate_limit_is_throttled(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH).respond_with_json({"errcode": 45009, "errmsg": "api freq out of limit"})
    with pytest.raises(Throttled) as caught:
        robot.send_markdown("K", "hi")
    assert caught.value.retryable is True
    assert caught.value.code == 45009


def test_http_429_is_throttled(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH).respond_with_data("slow down", status=429)
    with pytest.raises(Throttled):
        robot.send_text("K", "hi")


def test_http_500_is_retryable(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH).respond_with_data("oops", status=500)
    with pytest.raises(DeliveryError) as caught:
        robot.send_text("K", "hi")
    assert caught.value.retryable is True
    assert not isinstance(caught.value, Throttled)


def test_http_400_is_not_retryable(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH).respond_with_data("bad", status=400)
    with pytest.raises(DeliveryError) as caught:
        robot.send_text("K", "hi")
    assert caught.value.retryable is False


def test_timeout_is_retryable(httpserver):
    def slow(_):
        time.sleep(0.6)
        return Response(json.dumps(OK))

    httpserver.expect_request(ROBOT_PATH).respond_with_handler(slow)
    started = time.monotonic()
    with pytest.raises(DeliveryError) as caught:
        GroupRobot(httpserver.url_for("/"), 0.2).send_text("K", "hi")
    assert caught.value.retryable is True
    assert time.monotonic() - started < 0.5


def test_connection_refused_is_retryable():
    with pytest.raises(DeliveryError) as caught:
        GroupRobot("http://127.0.0.1:9", TIMEOUT).send_text("K", "hi")
    assert caught.value.retryable is True


def test_non_json_answer_is_retryable(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH).respond_with_data("<html>gateway</html>")
    with pytest.raises(DeliveryError) as caught:
        robot.send_text("K", "hi")
    assert caught.value.retryable is True


def test_robot_refuses_oversized_content(httpserver, robot):
    with pytest.raises(ValueError):
        robot.send_text("K", "愿" * (TEXT_LIMIT // 3 + 1))  # 3 bytes each: over 2048 bytes, under 2048 chars
    with pytest.raises(ValueError):
        robot.send_markdown("K", "x" * (MARKDOWN_LIMIT + 1))
    assert httpserver.log == []


def test_robot_accepts_content_exactly_at_the_limit(httpserver, robot):
    httpserver.expect_request(ROBOT_PATH).respond_with_json(OK)
    robot.send_markdown("K", "x" * MARKDOWN_LIMIT)
    assert len(hits(httpserver, ROBOT_PATH)) == 1


# --- split_message -------------------------------------------------------------------------------

def test_split_keeps_every_line_within_the_byte_limit():
    lines = [f"第{i}条心愿：帮老人买菜、取药，周末上门" for i in range(300)] + ["", "end"]
    text = "\n".join(lines)
    chunks = split_message(text, TEXT_LIMIT)
    assert len(chunks) > 1
    assert all(len(chunk.encode()) <= TEXT_LIMIT for chunk in chunks)
    assert "\n".join(chunks) == text
    assert [line for chunk in chunks for line in chunk.split("\n")] == lines  # no line cut in two


def test_split_fills_chunks():
    # Three 3-byte lines joined take 11 bytes: 10 bytes hold two lines, the third goes on.
    assert split_message("甲\n乙\n丙", 10) == ["甲\n乙", "丙"]
    assert split_message("甲\n乙\n丙", 11) == ["甲\n乙\n丙"]


def test_split_hard_splits_a_long_line_between_characters():
    line = "a" + "心" * 1000  # the 'a' puts every character boundary off the limit's multiples
    chunks = split_message(line, 100)
    assert all(len(chunk.encode()) <= 100 for chunk in chunks)
    assert "".join(chunks) == line  # every character survives whole
    assert all(len(chunk.encode()) >= 97 for chunk in chunks[:-1])  # and each piece is as full as fits


def test_split_short_and_empty_text():
    assert split_message("你好", TEXT_LIMIT) == ["你好"]
    assert split_message("", TEXT_LIMIT) == []
    with pytest.raises(ValueError):
        split_message("abc", 3)


# --- Official Account ----------------------------------------------------------------------------

def test_token_is_fetched_once_for_many_sends(httpserver, official):
    httpserver.expect_request(SEND_PATH, method="POST", query_string={"access_token": "T1"}, json={
        "touser": "oUser", "msgtype": "text", "text": {"content": "您的心愿 #3 已被认领"},
    }).respond_with_json(OK)
    for _ in range(5):
        official.send_text("oUser", "您的心愿 #3 已被认领")
    assert len(hits(httpserver, SEND_PATH)) == 5
    fetches = hits(httpserver, "/cgi-bin/stable_token")
    assert len(fetches) == 1
    assert fetches[0].get_json() == {"grant_type": "client_credential", "appid": "wxappid", "secret": "s3cret"}


def test_token_error_refetches_once_then_succeeds(httpserver, official):
    httpserver.expect_oneshot_request(SEND_PATH).respond_with_json({"errcode": 40001, "errmsg": "invalid credential"})
    httpserver.expect_request(SEND_PATH, query_string={"access_token": "T2"}).respond_with_json(OK)
    official.send_text("oUser", "hi")
    assert [r.args["access_token"] for r in hits(httpserver, SEND_PATH)] == ["T1", "T2"]
    assert len(hits(httpserver, "/cgi-bin/stable_token")) == 2


@pytest.mark.parametrize("code", [40001, 40014, 42001])
def test_token_error_twice_fails_after_exactly_two_fetches(httpserver, official, code):
    httpserver.expect_request(SEND_PATH).respond_with_json({"errcode": code, "errmsg": "token"})
    with pytest.raises(DeliveryError) as caught:
        official.send_text("oUser", "hi")
    assert caught.value.code == code
    assert len(hits(httpserver, "/cgi-bin/stable_token")) == 2
    assert len(hits(httpserver, SEND_PATH)) == 2


def test_outside_48h_window(httpserver, official):
    httpserver.expect_request(SEND_PATH).respond_with_json({"errcode": 45015, "errmsg": "response out of time limit"})
    with pytest.raises(OutsideWindow) as caught:
        official.send_text("oUser", "hi")
    assert caught.value.retryable is False
    assert caught.value.code == 45015


def test_too_many_sends_is_throttled(httpserver, official):
    httpserver.expect_request(SEND_PATH).respond_with_json({"errcode": 45047, "errmsg": "out of response count limit"})
    with pytest.raises(Throttled):
        official.send_text("oUser", "hi")


def test_token_fetch_failure_is_typed(httpserver):
    httpserver.expect_request("/cgi-bin/stable_token").respond_with_json({"errcode": 40125, "errmsg": "invalid appsecret"})
    api = OfficialAccountAPI(httpserver.url_for("/"), "wxappid", "wrong", MemoryTokenStore(), TIMEOUT)
    with pytest.raises(DeliveryError) as caught:
        api.send_text("oUser", "hi")
    assert caught.value.code == 40125
    assert caught.value.retryable is False
    assert hits(httpserver, SEND_PATH) == []


def test_download_media(httpserver, official):
    httpserver.expect_request("/cgi-bin/media/get", method="GET",
                              query_string={"access_token": "T1", "media_id": "M1"}).respond_with_data(
        b"\xff\xd8\xff\xe0jpeg", content_type="image/jpeg")
    assert official.download_media("M1") == b"\xff\xd8\xff\xe0jpeg"


def test_download_media_error(httpserver, official):
    httpserver.expect_request("/cgi-bin/media/get").respond_with_data(
        json.dumps({"errcode": 40007, "errmsg": "invalid media_id"}), content_type="text/plain")
    with pytest.raises(DeliveryError) as caught:
        official.download_media("gone")
    assert caught.value.code == 40007


# --- WeCom application ---------------------------------------------------------------------------

def test_wecom_send_text(httpserver):
    httpserver.expect_request("/cgi-bin/gettoken", method="GET",
                              query_string={"corpid": "ww1", "corpsecret": "sec"}).respond_with_json(
        {"errcode": 0, "errmsg": "ok", "access_token": "W1", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/message/send", method="POST", query_string={"access_token": "W1"}, json={
        "touser": "zhang|li", "agentid": 1000002, "msgtype": "text", "text": {"content": "今日汇总"},
    }).respond_with_json(OK)
    api = WeComAPI(httpserver.url_for("/"), "ww1", "1000002", "sec", MemoryTokenStore(), TIMEOUT)
    api.send_text(["zhang", "li"], "今日汇总")
    api.send_text(["zhang", "li"], "今日汇总")
    assert len(hits(httpserver, "/cgi-bin/message/send")) == 2
    assert len(hits(httpserver, "/cgi-bin/gettoken")) == 1


def test_wecom_token_error_refetches_once(httpserver):
    serve_tokens(httpserver, "/cgi-bin/gettoken", "GET")
    httpserver.expect_request("/cgi-bin/message/send").respond_with_json({"errcode": 42001, "errmsg": "expired"})
    api = WeComAPI(httpserver.url_for("/"), "ww1", 7, "sec", MemoryTokenStore(), TIMEOUT)
    with pytest.raises(DeliveryError):
        api.send_text(["zhang"], "hi")
    assert [r.args["access_token"] for r in hits(httpserver, "/cgi-bin/message/send")] == ["T1", "T2"]


# --- token stores --------------------------------------------------------------------------------

class CountingFetch:
    """A token endpoint stand-in: slow enough for concurrent callers to overlap."""

    def __init__(self, delay: float = 0.0):
        self.calls = 0
        self.delay = delay
        self._lock = threading.Lock()

    def __call__(self) -> tuple[str, int]:
        time.sleep(self.delay)
        with self._lock:
            self.calls += 1
            return f"tok{self.calls}", 7200


def run_threads(count: int, target) -> list:
    results = [None] * count
    barrier = threading.Barrier(count)

    def run(i):
        barrier.wait()
        results[i] = target(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results


def test_redis_store_shared_by_two_processes(rdb):
    fetch = CountingFetch()
    first = AccessToken("official:wx", fetch, RedisTokenStore(rdb))
    second = AccessToken("official:wx", fetch, RedisTokenStore(redis.Redis(db=15, decode_responses=True)))
    assert first.get() == "tok1"
    assert second.get() == "tok1"
    assert fetch.calls == 1
    ttl = rdb.ttl("wishbot:token:official:wx")
    assert 0 < ttl < 7200  # stored for a little less than expires_in


def test_redis_store_concurrent_fetch_once(rdb):
    fetch = CountingFetch(delay=0.2)
    tokens = [AccessToken("wecom:ww:1", fetch, RedisTokenStore(redis.Redis(db=15))) for _ in range(2)]
    results = run_threads(8, lambda i: tokens[i % 2].get())
    assert results == ["tok1"] * 8
    assert fetch.calls == 1


def test_memory_store_concurrent_fetch_once():
    fetch = CountingFetch(delay=0.2)
    token = AccessToken("official:wx", fetch, MemoryTokenStore())
    assert run_threads(8, lambda _: token.get()) == ["tok1"] * 8
    assert fetch.calls == 1


def test_lock_wait_timeout_is_retryable(rdb):
    rdb.set("wishbot:token:official:wx:lock", "someone else", ex=30)
    store = RedisTokenStore(rdb, wait_timeout=0.2)
    with pytest.raises(DeliveryError) as caught:
        AccessToken("official:wx", CountingFetch(), store).get()
    assert caught.value.retryable is True


@pytest.mark.parametrize("make_store", [MemoryTokenStore, lambda: RedisTokenStore(redis.Redis(db=15))])
def test_invalidate_drops_only_the_current_token(rdb, make_store):
    store = make_store()
    fetch = CountingFetch()
    first, second = AccessToken("t", fetch, store), AccessToken("t", fetch, store)
    assert first.get() == second.get() == "tok1"

    first.invalidate("some older token")
    assert first.get() == "tok1"
    assert fetch.calls == 1

    first.invalidate("tok1")
    assert first.get() == "tok2"
    second.invalidate("tok1")  # second saw tok1 fail too, but first has already replaced it
    assert second.get() == "tok2"
    assert fetch.calls == 2


def test_memory_store_expires():
    now = [100.0]
    store = MemoryTokenStore(clock=lambda: now[0])
    store.set("t", "abc", 1)
    now[0] = 100.99
    assert store.get("t") == "abc"
    now[0] = 101.0
    assert store.get("t") is None
