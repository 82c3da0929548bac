"""统计: this month's numbers for the grid worker's grid."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from handlers.stats import month_start
from models import Wish, local_zone

from .world import session_of


def test_month_starts_at_local_midnight():
    # 2026-12-01 00:30 in China is still November in UTC.
    assert month_start(datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc)) == datetime(
        2026, 11, 30, 16, 0, tzinfo=timezone.utc)
    assert month_start(datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc)) == datetime(
        2026, 10, 31, 16, 0, tzinfo=timezone.utc)


def test_this_month_in_my_grid(chat, app):
    chat.say("o-wang", "许愿 需要一副老花镜")       # 1: confirmed
    chat.say("o-wang", "许愿 需要一根拐杖")         # 2: claimed only
    chat.say("o-wang", "许愿 想要一本字典")         # 3: still waiting for review
    chat.say("o-zhao", "许愿 家里水龙头漏水")       # 4: 第二网格, not 刘芳's
    chat.say("o-sun", "许愿 需要一个轮椅")          # 5: another community
    chat.say("o-wang", "许愿 去年的心愿")           # 6: moved to last month below
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-liu", "审核 2 通过")
    chat.say("o-li", "认领 1")
    chat.say("o-chen", "认领 2")
    chat.say("o-li", "完成 1")
    chat.say("o-wang", "确认 1 5分")
    with app.extensions["wishbot"].db.transaction() as s:
        s.get(Wish, 6).created_at = month_start() - timedelta(days=3)

    month = datetime.now(local_zone()).month
    chat.dialog([
        ("o-liu", "统计", f"新城社区/第一网格 {month}月统计：\n征集 3 个，发布 2 个，认领 2 个，\n"
                          "完成 1 个，确认圆梦 1 个。\n认领最多的共建单位：市司法局（1次）、市税务局（1次）"),
        ("o-zhou", "统计", f"东山社区/第一网格 {month}月统计：\n征集 1 个，发布 0 个，认领 0 个，\n"
                           "完成 0 个，确认圆梦 0 个。"),
        ("o-li", "统计", "「统计」不是您能用的命令。发「帮助」看看您能做什么。"),
    ])
    with session_of(app) as s:
        assert s.get(Wish, 6).status == "pending_review"


def test_stats_and_the_figures_count_a_wish_of_several_slots_alike(chat, app):
    from sqlalchemy import select

    from bot import figures as sql_figures
    from models import local_time, utcnow

    def counted() -> tuple[str, int]:
        reply = chat.say("o-liu", "统计")
        with session_of(app) as s:
            now = local_time(utcnow())
            figures = sql_figures.compute(s, sql_figures.everything, now.strftime("%Y-%m"), now)
            return reply.split("\n")[1], figures.totals["claimed"]

    chat.dialog([
        ("o-wang", "许愿 需要两个人帮忙搬家", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过 2人", "心愿 #1 已发布到志愿者群。"),
    ])
    chat.say("o-li", "认领 1")
    assert counted() == ("征集 1 个，发布 1 个，认领 0 个，", 0)  # one of two slots taken
    chat.say("o-chen", "认领 1")
    assert counted() == ("征集 1 个，发布 1 个，认领 1 个，", 1)
