"""A grid worker's queue (`待审核`, `我的网格`) and long lists a page at a time."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from models import Claim, local_time, utcnow

from .world import session_of


def today() -> str:
    now = local_time(utcnow())
    return f"{now.month}月{now.day}日"


def test_waiting_lists_this_grids_wishes_and_the_communitys_registrations(chat):
    chat.say("o-wang", "许愿 需要一副老花镜")     # #1 新城社区/第一网格
    chat.say("o-zhao", "许愿 孩子需要一个书包")   # #2 新城社区/第二网格: not 刘芳's
    chat.say("o-sun", "许愿 需要一床棉被")       # #3 东山社区
    chat.say("o-new", "报到 张明 市税务局 13912345678 新城社区")
    assert chat.say("o-liu", "待审核") == (
        "新城社区/第一网格等您审核 2 条：\n"
        f"心愿 #1 需要一副老花镜（王**，{today()}）\n"
        "报到 R1 张明（市税务局，新城社区）\n"
        "回复「审核 1 通过」或「审核 1 驳回 原因」。")
    assert chat.say("o-zhou", "待审核") == (
        "东山社区/第一网格等您审核 1 条：\n"
        f"心愿 #3 需要一床棉被（孙**，{today()}）\n"
        "回复「审核 3 通过」或「审核 3 驳回 原因」。")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-liu", "审核 R1 通过")
    assert chat.say("o-liu", "待审核") == "新城社区/第一网格现在没有等您审核的心愿和报到申请。"
    assert chat.say("o-li", "待审核") == "「待审核」不是您能用的命令。发「帮助」看看您能做什么。"


def test_a_long_queue_says_how_many_more_and_how_to_see_them(chat):
    for n in range(1, 12):
        chat.say("o-wang", f"许愿 需要{n}号物品")
    chat.say("o-new", "报到 张明 市税务局 13912345678 新城社区")
    first = chat.say("o-liu", "待审核").split("\n")
    assert first[0] == "新城社区/第一网格等您审核 12 条："
    assert first[1:11] == [f"心愿 #{n} 需要{n}号物品（王**，{today()}）" for n in range(1, 11)]
    assert first[11:] == ["还有2条，发「待审核 2」看下一页。", "回复「审核 1 通过」或「审核 1 驳回 原因」。"]
    assert chat.say("o-liu", "待审核 2") == (
        "新城社区/第一网格等您审核 12 条：\n"
        f"心愿 #11 需要11号物品（王**，{today()}）\n"
        "报到 R1 张明（市税务局，新城社区）\n"
        "回复「审核 11 通过」或「审核 11 驳回 原因」。")
    assert chat.say("o-liu", "待审核 3") == "没有第3页了，一共2页。发「待审核」看第1页。"


def test_the_open_wishes_list_pages(chat):
    for n in range(1, 13):
        chat.say("o-wang", f"许愿 需要{n}号物品")
        chat.say("o-liu", f"审核 {n} 通过")
    first = chat.say("o-li", "心愿列表").split("\n")
    assert first[0] == "待认领的心愿："
    assert first[1] == "#1【其他】需要1号物品（王**）"
    assert len(first) == 13
    assert first[11:] == ["还有2条，发「心愿列表 2」看下一页。", "想认领哪个，就回复「认领」加编号，比如：认领 1"]
    assert chat.say("o-li", "心愿列表 2") == (
        "待认领的心愿：\n#11【其他】需要11号物品（王**）\n#12【其他】需要12号物品（王**）\n"
        "想认领哪个，就回复「认领」加编号，比如：认领 11")
    assert chat.say("o-li", "心愿列表 其他 2").startswith("待认领的心愿：\n#11【其他】")


def test_my_grid_gives_counts_with_numbers(chat, app):
    chat.say("o-wang", "许愿 需要一副老花镜")   # 1: claimed long ago
    chat.say("o-wang", "许愿 需要一个轮椅")     # 2: published long ago, unclaimed
    chat.say("o-wang", "许愿 需要一床棉被")     # 3: waiting for review
    chat.say("o-zhao", "许愿 孩子需要书包")     # 4: another grid
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-liu", "审核 2 通过")
    chat.say("o-li", "认领 1")
    long_ago = utcnow() - timedelta(days=10)
    with session_of(app) as s, s.begin():
        s.execute(update(Claim).values(created_at=long_ago))
        from models import Wish
        s.execute(update(Wish).where(Wish.id == 2).values(published_at=long_ago))
    assert chat.say("o-liu", "我的网格") == (
        "新城社区/第一网格：\n"
        "待审核 1 个：#3\n"
        "待认领 1 个：#2\n"
        "已认领 1 个：#1\n"
        "超过3天没人认领 1 个：#2\n"
        "认领超过7天未完成 1 个：#1\n"
        "发「待审核」看要审核的心愿，发「查询 12」看12号心愿。")
