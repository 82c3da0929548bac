"""Many members claim a one-slot wish at the same moment, over real HTTP: exactly one wins."""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from bot.channels import simulate
from handlers import directory
from models import Claim, Person, ProcessedMessage, Wish

from .conftest import AES_KEY, APPID, TOKEN

CLAIMERS = 12


def serve(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


def say_over_http(base: str, openid: str, text: str, msg_id: int) -> str:
    xml = simulate.build_text_message(openid, text, msg_id=msg_id)
    params, body = simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=AES_KEY)
    response = requests.post(f"{base}/wechat", params=params, data=body, timeout=30)
    response.raise_for_status()
    return simulate.read_reply(response.content, token=TOKEN, appid=APPID, aes_key=AES_KEY)


def test_exactly_one_of_many_concurrent_claims_wins(app, chat):
    db = app.extensions["wishbot"].db
    with db.transaction() as s:
        for n in range(CLAIMERS):
            directory.add_person(s, f"o-member-{n}", "member", f"党员{n}", community="新城社区")
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")

    server = serve(app)
    base = f"http://127.0.0.1:{server.server_port}"
    start = threading.Barrier(CLAIMERS)

    def claim(n: int) -> str:
        start.wait()
        return say_over_http(base, f"o-member-{n}", "认领 1", msg_id=900_000 + n)

    try:
        with ThreadPoolExecutor(CLAIMERS) as pool:
            replies = list(pool.map(claim, range(CLAIMERS)))
    finally:
        server.shutdown()

    won = "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"
    lost = "心愿 #1 已被认领，请看看其他心愿。"
    assert sorted(replies) == sorted([won] + [lost] * (CLAIMERS - 1)), replies
    with db.sessions() as s:
        assert s.get(Wish, 1).status == "claimed"
        assert len(s.scalars(select(Claim).where(Claim.status == "active")).all()) == 1


def test_concurrent_retries_of_one_delivery_take_effect_once(app, chat):
    server = serve(app)
    base = f"http://127.0.0.1:{server.server_port}"
    start = threading.Barrier(6)

    def submit(_):
        start.wait()
        return say_over_http(base, "o-wang", "许愿 需要一个助听器", msg_id=424242)

    try:
        with ThreadPoolExecutor(6) as pool:
            replies = list(pool.map(submit, range(6)))
    finally:
        server.shutdown()
    assert replies == ["收到您的心愿 #1，网格员审核后会发布。"] * 6
    with app.extensions["wishbot"].db.sessions() as s:
        assert len(s.scalars(select(Wish)).all()) == 1


def test_a_new_users_simultaneous_first_messages_are_all_answered(app, chat):
    """Several first messages from unknown senders race to create the same person."""
    server = serve(app)
    base = f"http://127.0.0.1:{server.server_port}"
    senders, per_sender = 4, 4
    start = threading.Barrier(senders * per_sender)

    def first_words(n: int) -> str:
        start.wait()
        sender, k = divmod(n, per_sender)
        return say_over_http(base, f"o-newcomer-{sender}", f"我的心愿 {k}", msg_id=800_000 + n)

    try:
        with ThreadPoolExecutor(senders * per_sender) as pool:
            replies = list(pool.map(first_words, range(senders * per_sender)))
    finally:
        server.shutdown()
    assert replies == ["您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。"] * (senders * per_sender)
    with app.extensions["wishbot"].db.sessions() as s:
        # Each sender's first message created them and was recorded; once a sender exists, a
        # read-only command is answered without a record (composition/conversation.py).
        assert set(s.scalars(select(ProcessedMessage.sender)).all()) == {f"o-newcomer-{n}" for n in range(senders)}
        newcomers = s.scalars(select(Person.openid).where(Person.openid.like("o-newcomer-%"))).all()
        assert sorted(newcomers) == [f"o-newcomer-{n}" for n in range(senders)]
