"""Spoken wishes, the completion photo kept as proof, and the requester's feedback."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from models import Proof, Wish, WishEvent

from .conftest import wait_for
from .replies import HINT, MEMBER_HINT
from .world import session_of, stamps

NOT_YET = "收到照片。如果是完成心愿的照片，请先发「完成 编号」，再发照片。"
JPEG = b"\xff\xd8\xff\xe0 a small photo of a wheelchair at the door"


def wishes(app) -> list[tuple[int, str, str]]:
    with session_of(app) as s:
        return [(w.id, w.content, w.status) for w in s.scalars(select(Wish).order_by(Wish.id))]


def test_an_elderly_resident_says_her_wish(chat, app):
    assert chat.voice("o-wang", "我想许个愿，需要一个助听器。") == "收到您的心愿 #1，网格员审核后会发布。"
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.content, wish.category, wish.requester.openid) == ("需要一个助听器", "医疗器械", "o-wang")
    assert chat.voice("o-wang", "许愿，需要一根拐杖。") == "收到您的心愿 #2，网格员审核后会发布。"
    chat.dialog([("o-wang", "我有个心愿，想要一台收音机", "收到您的心愿 #3，网格员审核后会发布。")])
    assert chat.voice("o-wang", "我的心愿是家里装个扶手。") == "收到您的心愿 #4，网格员审核后会发布。"
    assert [content for _, content, _ in wishes(app)] == ["需要一个助听器", "需要一根拐杖", "想要一台收音机",
                                                          "家里装个扶手"]


def test_natural_phrasing_does_not_swallow_other_text(chat, app):
    chat.dialog([("o-wang", "我想问一下许愿怎么弄", HINT)])
    assert chat.voice("o-wang", "我想许个愿。") == "请说说您的心愿，比如：我想许个愿，需要一副老花镜。"
    assert chat.voice("o-wang", "") == "没听清楚，请再说一遍，或者直接打字。"
    # A member without the resident role is not taken to be wishing.
    chat.dialog([("o-li", "我想许个愿，需要一个书包", MEMBER_HINT)])
    assert wishes(app) == []


def completed_wish(chat) -> None:
    chat.dialog([
        ("o-wang", "许愿 需要一个轮椅", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
        ("o-li", "认领 1", "认领成功！心愿 #1：需要一个轮椅\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-li", "完成 1 已送到家", "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。"),
    ])


def test_photo_after_completion_is_kept_and_fetched(chat, app):
    chat.api.expect_request("/cgi-bin/media/get", method="GET",
                            query_string={"access_token": "TOKEN-1", "media_id": "MEDIA-1"}).respond_with_data(
        JPEG, content_type="image/jpeg")
    assert chat.photo("o-li", "MEDIA-0") == NOT_YET  # nothing completed yet
    completed_wish(chat)
    assert chat.photo("o-li", "MEDIA-1") == "照片已作为心愿 #1 的完成凭证保存，谢谢！"

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
    at = stamps(app, 1)
    chat.dialog([("o-liu", "查询 1", "心愿 #1（已完成，待确认）\n需要一个轮椅\n类别：医疗器械·一般\n"
                  "社区网格：新城社区/第一网格\n许愿人：王秀兰，13800000001，新城小区3号楼401\n认领：李建国（已完成）\n"
                  f"· {at[0]} 王秀兰（微信）提交心愿：待审核\n"
                  f"· {at[1]} 刘芳（微信）审核发布：待审核→待认领\n"
                  f"· {at[2]} 李建国（微信）认领：待认领→已认领\n"
                  f"· {at[3]} 李建国（微信）报告完成：已认领→已完成，待确认，已送到家\n"
                  f"· {at[4]} 李建国（微信）上传照片：第1张完成照片")])


def test_photo_from_someone_else_is_not_proof(chat, app):
    completed_wish(chat)
    assert chat.photo("o-chen", "MEDIA-2") == NOT_YET
    with session_of(app) as s:
        assert s.scalar(select(func.count(Proof.id))) == 0


def test_confirmation_with_words_and_rating(chat, app):
    completed_wish(chat)
    chat.dialog([
        ("o-zhao", "确认 1 很好", "心愿 #1 不是您提交的。"),
        ("o-zhou", "确认 1", "心愿 #1 不在您负责的网格。"),
    ])
    assert wishes(app)[0][2] == "completed"

    # NFKC folds "，" to ","
    chat.dialog([("o-wang", "确认 1 轮椅很好用，谢谢党员同志 5分", "心愿 #1 已确认圆梦，谢谢您！")])
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.status, wish.feedback, wish.rating, wish.confirmed_by_id) == (
            "confirmed", "轮椅很好用，谢谢党员同志", 5, wish.requester_id)
    assert chat.private_notices("o-li") == [
        "您认领了心愿 #1：需要一个轮椅\n许愿人：王秀兰，电话：13800000001，地址：新城小区3号楼401\n完成后回复「完成 1」。",
        "许愿人已确认心愿 #1，谢谢您！"]
    chat.dialog([
        ("o-wang", "确认 1", "心愿 #1 已经确认过了，谢谢您！"),  # only once
        ("o-wang", "查询 1", "心愿 #1（已圆梦）\n需要一个轮椅\n类别：医疗器械·一般\n社区网格：新城社区/第一网格\n"
         "许愿人：王秀兰，13800000001，新城小区3号楼401\n认领：李建国（已完成）\n评价：轮椅很好用，谢谢党员同志，5分"),
    ])


def test_confirmation_without_rating(chat, app):
    completed_wish(chat)
    chat.dialog([("o-wang", "确认1 收到了", "心愿 #1 已确认圆梦，谢谢您！")])
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
