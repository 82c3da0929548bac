"""Privacy: a requester's name is masked and their phone and address hidden everywhere except
to staff of their grid and the wish's active claimers (who lose access when the claim ends)."""
from __future__ import annotations

import json

import pytest

from models import ApiToken
from web.api import hash_token

from .world import GRIDWORKERS_KEY, VOLUNTEERS_KEY, assert_no_secrets, stamps

PHONE, ADDRESS = "13800000001", "新城小区3号楼401"


def wish_card(status: str, requester: str, *more: str) -> str:
    return "\n".join([f"心愿 #1（{status}）", "需要一副老花镜", "类别：医疗器械·一般", "社区网格：新城社区/第一网格",
                      f"许愿人：{requester}", *more])


CONTACT = f"王秀兰，{PHONE}，{ADDRESS}"


def test_query_shows_each_role_what_it_may_see(chat, app):
    chat.dialog([
        ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-li", "查询 1", "心愿 #1 还没有发布，暂时不能查看。"),  # pending: not for members yet
    ])
    submitted = stamps(app, 1)[0]
    chat.dialog([
        ("o-liu", "查询 1", wish_card("待审核", CONTACT, f"· {submitted} 王秀兰（微信）提交心愿：待审核")),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
        # a member, another resident, another grid's worker: no contact details and no timeline
        ("o-chen", "查询 1", wish_card("待认领", "王**")),
        ("o-zhao", "查询 1", wish_card("待认领", "王**")),
        ("o-zhou", "查询 1", wish_card("待认领", "王**")),
        ("o-wang", "查询 1", wish_card("待认领", CONTACT)),  # her own wish
        ("o-liu", "派单 1 李建国", "心愿 #1 已派给 李建国，已私信通知本人。"),
        ("o-li", "查询 1", wish_card("已认领", CONTACT, "认领：李建国（进行中）")),
        ("o-chen", "查询 1", wish_card("已认领", "王**", "认领：李建国（进行中）")),
        ("o-li", "完成 1", "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。"),
        ("o-li", "查询 1", wish_card("已完成，待确认", "王**", "认领：李建国（已完成）")),  # the claim ended
    ])


def test_lists_and_pushes_never_carry_contact_details(chat):
    chat.dialog([
        ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
        # 第二网格: no grid-worker robot
        ("o-zhao", "许愿 家里水龙头漏水，很急", "收到您的心愿 #2，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 2人", "心愿 #1 已发布到志愿者群。"),
        ("o-liu", "代许愿 张桂兰 13812345678 需要一个助听器", "已为 张桂兰 登记心愿 #3，已发布到志愿者群。有消息会发给您转告。"),
        ("o-li", "认领 1", "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-liu", "派单 1 陈晓梅", "心愿 #1 已派给 陈晓梅，已私信通知本人。"),
        ("o-chen", "放弃 1", "已放弃心愿 #1，它会重新开放给大家认领。"),
        ("o-li", "完成 1", "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。"),
        ("o-liu", "派单 3 陈晓梅", "心愿 #3 已派给 陈晓梅，已私信通知本人。"),
        ("o-chen", "完成 3", "谢谢您！心愿 #3 已报告完成，可以再发一张照片留作记录。"),
        ("o-liu", "确认 3 很好", "已代 张桂兰 确认心愿 #3。"),
        ("o-chen", "心愿列表", "待认领的心愿：\n#1【医疗器械】需要一副老花镜（王**）\n想认领哪个，就回复「认领」加编号，比如：认领 1"),
        ("o-li", "我的认领", "您的认领：\n#1 需要一副老花镜 —— 已完成"),
    ])
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
    chat.dialog([
        ("o-wang", "许愿 我是王秀兰，电话13800000001，住新城小区3号楼401，儿子电话13911112222，需要助听器",
         "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
    ])
    scrubbed = "我是王**，电话（电话），住（地址），儿子电话139****2222，需要助听器"
    assert chat.group_pushes(GRIDWORKERS_KEY) == [
        f"待审核心愿 #1（新城社区第一网格，王**）：{scrubbed}\n回复「审核 1 通过」或「审核 1 驳回 原因」。"]
    assert chat.group_pushes(VOLUNTEERS_KEY) == [f"新心愿 #1（新城社区第一网格，王**）：{scrubbed}\n回复「认领 1」认领。"]
    pushes = chat.group_pushes()
    for text in pushes:
        for secret in ("王秀兰", "13800000001", "新城小区3号楼401", "13911112222"):
            assert secret not in text
