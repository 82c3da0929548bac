"""Every registered command, as a transcript: the bare keyword gets its usage line, someone of
another role and a stranger are refused and nothing changes. A command added to the router
without a line here fails until its bare reply is written down."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from handlers import ROUTER
from models import Claim, Notice, Wish, WishEvent, local_time, utcnow


@pytest.fixture
def database_url(sqlite_url):
    """The replies do not depend on the database; the workflow tests run on both."""
    return sqlite_url


def stats_reply() -> str:
    return (f"新城社区/第一网格 {local_time(utcnow()).month}月统计：\n"
            "征集 0 个，发布 0 个，认领 0 个，\n完成 0 个，确认圆梦 0 个。")


BARE = {  # keyword: (who may use it, the exact reply to the bare keyword)
    "帮助": ("o-wang", "您可以发：\n帮助 —— 查看用法\n许愿 需要一副老花镜 —— 提交心愿，也可以直接说您需要什么\n我的心愿 —— 查看我的心愿\n撤回 12 —— 撤回还没人认领的12号心愿\n确认 12 很满意 5分 —— 确认12号心愿已实现，评价和1-5分可不写\n查询 12 —— 查看12号心愿\n报到 张明 市税务局 13912345678 —— 在职党员到社区报到（双报到），可在最后加社区名"),
    "许愿": ("o-wang", "请写上心愿内容，比如：许愿 需要一副老花镜"),
    "我的心愿是": ("o-wang", "请写上心愿内容，比如：许愿 需要一副老花镜"),
    "我的心愿": ("o-wang", "您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。"),
    "撤回": ("o-wang", "请这样写：撤回 12（12 是心愿编号）"),
    "确认": ("o-wang", "请这样写：确认 12 很满意 5分（12 是心愿编号）"),
    "心愿列表": ("o-li", "现在没有待认领的心愿，谢谢关心！"),
    "认领": ("o-li", "请这样写：认领 12（12 是心愿编号）"),
    "放弃": ("o-li", "请这样写：放弃 12（12 是心愿编号）"),
    "完成": ("o-li", "请这样写：完成 12 已送到 2小时（12 是心愿编号，说明和时长可不写）"),
    "我的认领": ("o-li", "您还没有认领心愿。发送「心愿列表」看看。"),
    "查询": ("o-wang", "请这样写：查询 12（12 是心愿编号）"),
    "报到": ("o-wang", "请这样写：报到 张明 市税务局 13912345678（姓名 单位 手机号）"),
    "审核": ("o-liu", "请这样写：审核 12 通过，或 审核 12 驳回 原因"),
    "代许愿": ("o-liu", "请这样写：代许愿 姓名 手机号 内容，比如：代许愿 张桂兰 13812345678 需要一个助听器"),
    "派单": ("o-liu", "请这样写：派单 12 李建国（12 是心愿编号）"),
    "代完成": ("o-liu", "请这样写：代完成 12 李建国 已送到 2小时"),
    "代放弃": ("o-liu", "请这样写：代放弃 12 李建国 原因"),
    "分类": ("o-liu", "请这样写：分类 12 生活用品"),
    "紧急": ("o-liu", "请这样写：紧急 12 4"),
    "共性": ("o-liu", "请这样写：共性 12 20人"),
    "统计": ("o-liu", None),  # names the month: stats_reply()
    "待审核": ("o-liu", "新城社区/第一网格现在没有等您审核的心愿和报到申请。"),
    "我的网格": ("o-liu", "新城社区/第一网格：\n待审核 0 个\n待认领 0 个\n已认领 0 个\n超过3天没人认领 0 个\n认领超过7天未完成 0 个\n发「待审核」看要审核的心愿，发「查询 12」看12号心愿。"),
    "工时": ("o-liu", "请这样写：工时 12 李明 2（12 是心愿编号，2 是小时数）"),
    "我的服务": ("o-li", "您还没有完成的服务。发「心愿列表」看看可以认领的心愿。"),
}
ROLE_OF = {"o-wang": "resident", "o-li": "member", "o-liu": "gridworker"}
COMMANDS = [command for command in ROUTER.commands]


def refusal(keyword: str) -> str:
    return f"「{keyword}」不是您能用的命令。发「帮助」看看您能做什么。"


def rows(app) -> tuple[int, ...]:
    with app.extensions["wishbot"].db.sessions() as session:
        return tuple(session.scalar(select(func.count()).select_from(table)) for table in (Wish, Claim, WishEvent, Notice))


def test_every_registered_command_has_a_baseline():
    assert sorted(c.keywords[0] for c in COMMANDS) == sorted(BARE)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.keywords[0])
def test_bare_keyword_other_role_and_stranger(chat, app, command):
    keyword = command.keywords[0]
    user, reply = BARE[keyword]
    reply = reply or stats_reply()
    assert command.allows({ROLE_OF[user]})
    before = rows(app)
    turns = [(user, keyword, reply)]
    others = [who for who, role in ROLE_OF.items() if not command.allows({role})]
    turns += [(who, keyword, refusal(keyword)) for who in others]
    # Someone who never wrote before is taken for a resident.
    turns.append(("o-stranger", keyword, reply if command.allows({"resident"}) else refusal(keyword)))
    chat.dialog(turns)
    assert rows(app) == before
