"""Privacy: a requester's name is masked and their phone and address hidden everywhere except
to staff of their grid and the wish's active claimers (who lose access when the claim ends)."""
from __future__ import annotations

import json

import pytest

from models import ApiToken
from web.api import hash_token

from .world import assert_no_secrets

PHONE, ADDRESS = "13800000001", "新城小区3号楼401"


def sees_contact(reply: str) -> bool:
    return PHONE in reply and ADDRESS in reply and "王秀兰" in reply


def test_query_shows_each_role_what_it_may_see(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")
    assert "还没有发布" in chat.say("o-li", "查询 1")  # pending: not for members yet
    assert sees_contact(chat.say("o-liu", "查询 1"))
    chat.say("o-liu", "审核 1 通过")

    for outsider in ("o-chen", "o-zhao", "o-zhou"):  # a member, another resident, another grid's worker
        reply = chat.say(outsider, "查询 1")
        assert "#1" in reply and "王**" in reply and not any(s in reply for s in (PHONE, ADDRESS, "王秀兰"))
    assert "审核发布" not in chat.say("o-zhou", "查询 1")  # the timeline is for the wish's own staff
    assert sees_contact(chat.say("o-wang", "查询 1"))  # her own wish

    chat.say("o-liu", "派单 1 李建国")
    assert sees_contact(chat.say("o-li", "查询 1"))
    assert PHONE not in chat.say("o-chen", "查询 1")
    chat.say("o-li", "完成 1")
    assert PHONE not in chat.say("o-li", "查询 1")  # the claim ended


def test_lists_and_pushes_never_carry_contact_details(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-zhao", "许愿 家里水龙头漏水，很急")  # 第二网格: no grid-worker robot
    chat.say("o-liu", "审核 1 通过 2人")
    chat.say("o-liu", "代许愿 张桂兰 13812345678 需要一个助听器")
    chat.say("o-li", "认领 1")
    chat.say("o-liu", "派单 1 陈晓梅")
    chat.say("o-chen", "放弃 1")
    chat.say("o-li", "完成 1")
    chat.say("o-liu", "派单 3 陈晓梅")
    chat.say("o-chen", "完成 3")
    chat.say("o-liu", "确认 3 很好")
    listed = chat.say("o-chen", "心愿列表")
    assert "#1" in listed and not any(s in listed for s in (PHONE, "王秀兰", "张桂兰"))
    assert PHONE not in chat.say("o-li", "我的认领")
    assert_no_secrets(chat.group_pushes(), "张桂兰", "13812345678")


@pytest.fixture
def token(app) -> str:
    with app.extensions["wishbot"].db.transaction() as s:
        s.add(ApiToken(name="workflow", token_hash=hash_token("workflow-token")))
    return "workflow-token"


def test_the_api_masks_the_requester(chat, client, token):
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")
    data = client.get("/api/wishes/1", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert data["requester"] == "王**" and data["timeline"][0]["actor"] == "王**"
    text = json.dumps(data, ensure_ascii=False)
    assert not any(secret in text for secret in (PHONE, ADDRESS, "王秀兰"))


def test_contact_details_written_into_a_wish_never_reach_a_group(chat):
    chat.say("o-wang", "许愿 我是王秀兰，电话13800000001，住新城小区3号楼401，儿子电话13911112222，需要助听器")
    chat.say("o-liu", "审核 1 通过")
    pushes = chat.group_pushes()
    published = [text for text in pushes if "新心愿 #1" in text]
    assert published and "139****2222" in published[0] and "王**" in published[0]
    for text in pushes:
        for secret in ("王秀兰", "13800000001", "新城小区3号楼401", "13911112222"):
            assert secret not in text
