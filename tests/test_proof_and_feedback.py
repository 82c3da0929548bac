"""Spoken wishes, the completion photo kept as proof, and the requester's feedback."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Proof, Wish, WishEvent

from .conftest import wait_for
from .world import session_of

JPEG = b"\xff\xd8\xff\xe0 a small photo of a wheelchair at the door"


def wishes(app) -> list[tuple[int, str, str]]:
    with session_of(app) as s:
        return [(w.id, w.content, w.status) for w in s.scalars(select(Wish).order_by(Wish.id))]


def test_an_elderly_resident_says_her_wish(chat, app):
    reply = chat.voice("o-wang", "我想许个愿，需要一个助听器。")
    assert "#1" in reply and "审核" in reply
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.content, wish.category, wish.requester.openid) == ("需要一个助听器", "医疗器械", "o-wang")
    assert "#2" in chat.voice("o-wang", "许愿，需要一根拐杖。")
    assert "#3" in chat.say("o-wang", "我有个心愿，想要一台收音机")
    assert "#4" in chat.voice("o-wang", "我的心愿是家里装个扶手。")
    assert [content for _, content, _ in wishes(app)] == ["需要一个助听器", "需要一根拐杖", "想要一台收音机",
                                                          "家里装个扶手"]


def test_natural_phrasing_does_not_swallow_other_text(chat, app):
    assert "发「帮助」" in chat.say("o-wang", "我想问一下许愿怎么弄")
    assert "请说说您的心愿" in chat.voice("o-wang", "我想许个愿。")
    assert "没听清楚" in chat.voice("o-wang", "")
    # A member without the resident role is not taken to be wishing.
    assert "发「帮助」" in chat.say("o-li", "我想许个愿，需要一个书包")
    assert wishes(app) == []


def completed_wish(chat) -> None:
    chat.say("o-wang", "许愿 需要一个轮椅")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    chat.say("o-li", "完成 1 已送到家")


def test_photo_after_completion_is_kept_and_fetched(chat, app):
    chat.api.expect_request("/cgi-bin/media/get", method="GET",
                            query_string={"access_token": "TOKEN-1", "media_id": "MEDIA-1"}).respond_with_data(
        JPEG, content_type="image/jpeg")
    assert "先发「完成 编号」" in chat.photo("o-li", "MEDIA-0")  # nothing completed yet
    completed_wish(chat)
    reply = chat.photo("o-li", "MEDIA-1")
    assert "#1" in reply and "凭证" in reply

    def fetched():
        with session_of(app) as s:
            proof = s.scalar(select(Proof))
            return proof if proof is not None and proof.fetched_at else None

    proof = wait_for(fetched)
    assert (proof.media_id, proof.image, proof.content_type) == ("MEDIA-1", JPEG, "image/jpeg")
    with session_of(app) as s:
        assert s.scalar(select(func.count(Proof.id))) == 1
        assert s.scalar(select(Proof.claim_id)) == s.get(Wish, 1).claims[0].id
        assert "proof" in s.scalars(select(WishEvent.action).where(WishEvent.wish_id == 1)).all()
    assert "上传照片" in chat.say("o-liu", "查询 1")


def test_photo_from_someone_else_is_not_proof(chat, app):
    completed_wish(chat)
    assert "先发「完成 编号」" in chat.photo("o-chen", "MEDIA-2")
    with session_of(app) as s:
        assert s.scalar(select(func.count(Proof.id))) == 0


def test_confirmation_with_words_and_rating(chat, app):
    completed_wish(chat)
    assert "不是您提交的" in chat.say("o-zhao", "确认 1 很好")
    assert "不在您负责的网格" in chat.say("o-zhou", "确认 1")
    assert wishes(app)[0][2] == "completed"

    reply = chat.say("o-wang", "确认 1 轮椅很好用，谢谢党员同志 5分")  # NFKC folds "，" to ","
    assert "#1" in reply and "圆梦" in reply
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.status, wish.feedback, wish.rating, wish.confirmed_by_id) == (
            "confirmed", "轮椅很好用，谢谢党员同志", 5, wish.requester_id)
    assert any("#1" in t and "确认" in t for t in chat.private_notices("o-li"))
    assert "已确认" not in chat.say("o-wang", "确认 1")  # only once
    assert "评价：轮椅很好用，谢谢党员同志，5分" in chat.say("o-wang", "查询 1")


def test_confirmation_without_rating(chat, app):
    completed_wish(chat)
    chat.say("o-wang", "确认1 收到了")
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.status, wish.feedback, wish.rating) == ("confirmed", "收到了", None)


def test_the_fetch_job_goes_to_rq_and_retries_on_failure(chat, app, redis_url, settings):
    from dataclasses import replace

    from rq import Queue

    from bot.jobs import QUEUE_NAME
    from bot.outbound.errors import DeliveryError
    from composition.runtime import Runtime
    from handlers.media import fetch_proof

    completed_wish(chat)
    chat.photo("o-li", "MEDIA-9")
    with session_of(app) as s:
        proof_id = s.scalar(select(Proof.id))

    queued = Runtime(replace(settings, redis_url=redis_url))
    queued.after_commit([], [("fetch_proof", proof_id)])
    job = Queue(QUEUE_NAME, connection=queued.redis).jobs[0]
    assert (job.func_name, job.args) == ("worker.run", ("fetch_proof", proof_id))

    def unavailable(media_id):
        raise DeliveryError("HTTP 502", retryable=True)

    with pytest.raises(DeliveryError):  # RQ sees the failure and retries
        fetch_proof(app.extensions["wishbot"].db, unavailable, proof_id)
    with session_of(app) as s:
        proof = s.get(Proof, proof_id)
        assert (proof.media_id, proof.fetched_at) == ("MEDIA-9", None)
    queued.db.dispose()
