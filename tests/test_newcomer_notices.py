"""A newcomer's wish is noticed privately only to someone who may review it (models.scope):
never to the grid worker of another grid, who would be told it is not in their grid."""
from __future__ import annotations

import pytest

from models import Wish

from .world import add_people, session_of

CHOOSE_COMMUNITY = ("是的话，请告诉我您住在哪个社区，回复数字或社区名：\n1. 新城社区\n2. 东山社区\n"
                    "（不是就回复「不是」）")
CHOOSE_GRID = "新城社区有2个网格，请问您住哪一个？回复数字或名称（不知道就回复「不知道」）：\n1. 第一网格\n2. 第二网格"
COMMUNITY_STAFF = {"openid": "o-xc", "role": "gridworker", "name": "新城社工", "community": "新城社区"}
ADMIN = {"openid": "o-boss", "role": "admin", "name": "管理员"}


def newcomer_wishes(chat, openid: str, grid_answer: str, where: str) -> None:
    chat.dialog([
        (openid, "需要一个助听器", f"您是想许这个心愿吗：需要一个助听器\n{CHOOSE_COMMUNITY}"),
        (openid, "新城社区", CHOOSE_GRID),
        (openid, grid_answer, f"收到您的心愿 #1，已登记在{where}。网格员核实后会发布，有消息会告诉您。\n"
                              "发「我的心愿」可以随时查看。"),
    ])


def notice(where: str) -> str:
    return (f"新居民许愿 #1（{where}）：需要一个助听器\n"
            "这位居民刚关注公众号，还没有登记，请核实后回复「审核 1 通过」或「审核 1 驳回 原因」。")


@pytest.mark.parametrize("grid_answer, where", [("第二网格", "新城社区第二网格"), ("不知道", "新城社区")])
def test_the_communitys_staff_are_told_and_may_review_it_not_another_grids_worker(chat, app, grid_answer, where):
    add_people(app, COMMUNITY_STAFF, ADMIN)
    newcomer_wishes(chat, "o-new", grid_answer, where)
    assert chat.private_notices("o-liu") == []  # 第一网格's grid worker may not review it
    assert chat.private_notices("o-boss") == []  # the community has its own staff
    assert chat.private_notices("o-xc") == [notice(where)]
    chat.dialog([
        ("o-liu", "审核 1 通过", "心愿 #1 不在您负责的网格。"),
        ("o-xc", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
    ])


@pytest.mark.parametrize("grid_answer, where", [("第二网格", "新城社区第二网格"), ("不知道", "新城社区")])
def test_without_community_staff_an_admin_is_told_and_may_review_it(chat, app, grid_answer, where):
    add_people(app, ADMIN)
    newcomer_wishes(chat, "o-new", grid_answer, where)
    assert chat.private_notices("o-liu") == []
    assert chat.private_notices("o-boss") == [notice(where)]
    chat.dialog([("o-boss", "审核 1 通过", "心愿 #1 已发布到志愿者群。")])


def test_a_grid_with_its_own_grid_worker_tells_only_them(chat, app):
    add_people(app, COMMUNITY_STAFF, ADMIN,
               {"openid": "o-ma", "role": "gridworker", "name": "马丽", "grid": "新城社区/第二网格"})
    newcomer_wishes(chat, "o-new", "第二网格", "新城社区第二网格")
    assert chat.private_notices("o-liu") + chat.private_notices("o-xc") + chat.private_notices("o-boss") == []
    assert chat.private_notices("o-ma") == [notice("新城社区第二网格")]
    chat.dialog([("o-ma", "审核 1 通过", "心愿 #1 已发布到志愿者群。")])


def test_a_claimer_is_given_the_phone_of_the_grids_worker_even_one_off_wechat(chat, app):
    """Someone who left no number is reached through their grid worker's phone, which a grid
    worker without WeChat has too; never another grid's worker."""
    add_people(app, {"openid": None, "role": "gridworker", "name": "马丽", "phone": "13700000009",
                     "grid": "新城社区/第二网格"})
    newcomer_wishes(chat, "o-new", "第二网格", "新城社区第二网格")
    with session_of(app) as s:
        s.get(Wish, 1).status = "published"
        s.commit()
    chat.say("o-li", "认领 1")
    assert "许愿人没有留电话，请联系网格员马丽（13700000009）。" in chat.private_notices("o-li")[-1]
