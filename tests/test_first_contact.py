"""First contact: a newcomer's first wish, everyday words, spoken numbers, strict numbers.
Transcripts over the real signed and encrypted protocol, with the exact replies."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.numbers import chinese_or_arabic, parse_number, split_number
from handlers.help import HINT, WELCOME
from handlers.natural import GREETING_REPLY, THANKS_REPLY
from models import Claim, Person, Wish, WishDraft, local_time, utcnow

from .replies import MEMBER_HINT
from .world import GRIDWORKERS_KEY, session_of

CHOOSE_COMMUNITY = ("是的话，请告诉我您住在哪个社区，回复数字或社区名：\n1. 新城社区\n2. 东山社区\n"
                    "（不是就回复「不是」）")
CHOOSE_GRID = "新城社区有2个网格，请问您住哪一个？回复数字或名称（不知道就回复「不知道」）：\n1. 第一网格\n2. 第二网格"


def transcript(chat, openid: str, lines: list[tuple[str, str]]) -> None:
    for said, answered in lines:
        assert chat.say(openid, said) == answered, f"after {said!r}"


def wishes(app) -> list[Wish]:
    with session_of(app) as s:
        found = list(s.scalars(select(Wish).order_by(Wish.id)))
        for wish in found:
            _ = wish.grid and wish.grid.label
        return found


# --- 1. a newcomer's first wish ----------------------------------------------------------------


def test_a_newcomer_wishes_in_three_messages_and_the_grid_worker_is_told(chat, app):
    assert chat.event("o-new", "subscribe") == WELCOME
    transcript(chat, "o-new", [
        ("许愿 需要一个轮椅", f"您是想许这个心愿吗：需要一个轮椅\n{CHOOSE_COMMUNITY}"),
        ("1", CHOOSE_GRID),
        ("第一网格", "收到您的心愿 #1，已登记在新城社区第一网格。网格员核实后会发布，有消息会告诉您。\n"
                     "发「我的心愿」可以随时查看。"),
    ])
    [wish] = wishes(app)
    assert (wish.content, wish.status, wish.grid.label, wish.category) == (
        "需要一个轮椅", "pending_review", "新城社区/第一网格", "医疗器械")
    assert chat.group_pushes(GRIDWORKERS_KEY) == [
        "新居民许愿 #1（新城社区第一网格）：需要一个轮椅\n"
        "这位居民刚关注公众号，还没有登记，请核实后回复「审核 1 通过」或「审核 1 驳回 原因」。"]
    with session_of(app) as s:
        assert s.scalar(select(func.count(WishDraft.id))) == 0
    # From now on a registered resident: the next wish goes straight in.
    assert chat.say("o-new", "许愿 还需要一个拐杖") == "收到您的心愿 #2，网格员审核后会发布。"
    assert chat.say("o-liu", "审核 1 通过") == "心愿 #1 已发布到志愿者群。"
    # The claimer cannot reach someone who left no number: the grid worker who knows them can.
    chat.say("o-li", "认领 1")
    assert chat.private_notices("o-li")[-1] == (
        "您认领了心愿 #1：需要一个轮椅\n许愿人：微信用户\n许愿人没有留电话，请联系网格员刘芳（13700000001）。\n"
        "完成后回复「完成 1」。")


def test_everyday_words_from_a_newcomer_answered_by_name_keep_every_word(chat, app):
    transcript(chat, "o-new2", [
        ("家里灯泡坏了，想请人来换一下。", f"您是想许这个心愿吗：家里灯泡坏了，想请人来换一下\n{CHOOSE_COMMUNITY}"),
        ("我住新城社区", CHOOSE_GRID),
        ("灯泡要节能的那种", "已把这句补充到您的心愿里。\n请回复网格前面的数字或网格名称（不知道就回复「不知道」）：\n"
                             "1. 第一网格\n2. 第二网格"),
        ("二", "收到您的心愿 #1，已登记在新城社区第二网格。网格员核实后会发布，有消息会告诉您。\n"
               "发「我的心愿」可以随时查看。"),
    ])
    [wish] = wishes(app)
    assert wish.content == "家里灯泡坏了，想请人来换一下；灯泡要节能的那种"
    assert (wish.grid.label, wish.category) == ("新城社区/第二网格", "房屋维修")
    # 第二网格 has no robot and no grid worker of its own: not 第一网格's grid worker, who may not
    # review it (test_newcomer_notices.py: the community's staff or an admin are told instead).
    assert chat.private_notices("o-liu") == []


def test_a_newcomer_in_a_community_with_one_grid_is_asked_once(chat, app):
    transcript(chat, "o-new3", [
        ("需要一床棉被", f"您是想许这个心愿吗：需要一床棉被\n{CHOOSE_COMMUNITY}"),
        ("东山", "收到您的心愿 #1，已登记在东山社区第一网格。网格员核实后会发布，有消息会告诉您。\n"
                 "发「我的心愿」可以随时查看。"),
    ])
    [wish] = wishes(app)
    assert (wish.grid.label, wish.category, wish.status) == ("东山社区/第一网格", "生活用品", "pending_review")


def test_a_newcomer_may_say_no_or_answer_wrong_and_nothing_is_recorded(chat, app):
    transcript(chat, "o-new4", [
        ("需要一个助听器", f"您是想许这个心愿吗：需要一个助听器\n{CHOOSE_COMMUNITY}"),
        ("7", "请回复社区前面的数字或社区名称：\n1. 新城社区\n2. 东山社区"),
        ("不是", "好的，没有提交。有需要随时告诉我。"),
        ("1", HINT),
    ])
    assert wishes(app) == []
    with session_of(app) as s:
        assert s.scalar(select(Person).where(Person.openid == "o-new4")).community_id is None


# --- 3. everyday words from a registered resident ----------------------------------------------


def test_a_need_in_everyday_words_is_proposed_and_submitted_with_yes(chat, app):
    transcript(chat, "o-wang", [
        ("你好", GREETING_REPLY),
        ("家里灯泡坏了，想请人来换一下", "您是想许这个心愿吗：家里灯泡坏了，想请人来换一下\n回复「是」提交，回复「不是」取消。"),
        ("是", "收到您的心愿 #1，网格员审核后会发布。"),
        ("谢谢", THANKS_REPLY),
        ("怎么许愿？", HINT),
        ("需要一个轮椅", "您是想许这个心愿吗：需要一个轮椅\n回复「是」提交，回复「不是」取消。"),
        ("不是", "好的，没有提交。有需要随时告诉我。"),
        ("我需要帮助", "请说说您需要什么，比如：需要一副老花镜，或者：家里灯泡坏了，想请人来换一下。"),
    ])
    [wish] = wishes(app)
    assert (wish.content, wish.category, wish.status) == ("家里灯泡坏了，想请人来换一下", "房屋维修", "pending_review")


def test_a_need_opening_with_a_commands_word_is_a_need(chat, app):
    """帮助 alone is the help list; `帮助我修一下水管` is someone asking for help. `心愿是…`
    says the wish, and the 是 is no part of it."""
    transcript(chat, "o-wang", [
        ("帮助我修一下水管", "您是想许这个心愿吗：帮助我修一下水管\n回复「是」提交，回复「不是」取消。"),
        ("是", "收到您的心愿 #1，网格员审核后会发布。"),
        ("帮助一下，家里没有米了", "您是想许这个心愿吗：帮助一下，家里没有米了\n回复「是」提交，回复「不是」取消。"),
        ("不是", "好的，没有提交。有需要随时告诉我。"),
        ("心愿是想要一个轮椅", "收到您的心愿 #2，网格员审核后会发布。"),
    ])
    assert chat.say("o-wang", "帮助").startswith("您可以发：\n帮助 —— 查看用法")
    assert [(w.content, w.category) for w in wishes(app)] == [("帮助我修一下水管", "房屋维修"), ("想要一个轮椅", "医疗器械")]


def test_everyday_ways_of_naming_a_wish_and_a_count(chat, app):
    """第12号, 12号心愿, 我要认领12, a thanks or a 🙏 after the number, 三人, and 报道 for 报到:
    each does what was meant; a second number still names no wish."""
    for n, need in enumerate(["需要一副老花镜", "需要一个轮椅", "想要一个书包", "想请人陪诊", "需要一袋米"], start=1):
        assert chat.say("o-wang", f"许愿 {need}") == f"收到您的心愿 #{n}，网格员审核后会发布。"
    assert chat.say("o-liu", "审核 1 通过 三人") == "心愿 #1 已发布到志愿者群。"
    for n in range(2, 6):
        assert chat.say("o-liu", f"审核 {n} 通过") == f"心愿 #{n} 已发布到志愿者群。"
    for said, n in [("认领第1号", 1), ("认领2号心愿", 2), ("我要认领3", 3), ("认领 4，谢谢🙏", 4)]:
        assert chat.say("o-li", said).startswith(f"认领成功！心愿 #{n}："), said
    assert chat.say("o-li", "认领 5 6") == "请这样写：认领 12（12 是心愿编号）"
    with session_of(app) as s:
        assert s.get(Wish, 1).slots == 3
        assert s.scalars(select(Claim.wish_id).order_by(Claim.wish_id)).all() == [1, 2, 3, 4]
    assert chat.say("o-new", "报道 张明 市税务局 13912345678 新城社区") == (
        "收到您的报到申请 R1（新城社区），审核通过后会通知您。")


@pytest.mark.parametrize("text, category", [
    ("天冷了想要一床棉被", "生活用品"),
    ("家里没有米面油了", "生活用品"),
    ("老伴需要一台呼吸机", "医疗器械"),
    ("想请人陪诊去医院", "上门服务"),
    ("一个人在家，想找人唠家常", "精神慰藉"),
    ("孩子想要一个书包", "学习用品"),
    ("楼道杂物想请人清运", "居家清洁"),
    ("水管漏水了", "房屋维修"),
    ("独居老人需要上门理发", "上门服务"),
    ("想要一副老花镜", "医疗器械"),
])
def test_categories_cover_the_articles_and_everyday_synonyms(text, category):
    from handlers.categories import guess_category

    assert guess_category(text) == category


def test_flour_inside_another_word_is_no_flour():
    from handlers.categories import OTHER, guess_category

    assert guess_category("想和老朋友见面") == OTHER


# --- 4 and 5. spoken and strict numbers ----------------------------------------------------------


@pytest.mark.parametrize("token, number", [
    ("216", 216), ("#216", 216), ("# 216", 216), ("二百一十六", 216), ("两百", 200), ("一百零五号", 105),
    ("105号", 105), ("十二", 12),
])
def test_numbers_written_or_spoken(token, number):
    assert parse_number(token) == number


@pytest.mark.parametrize("token", ["1e3", "250abc", "21 6", "12.5", "#", "abc", "-3", "十分", "1234567890"])
def test_a_number_is_a_whole_token(token):
    assert parse_number(token) is None


@pytest.mark.parametrize("text, split", [
    ("12通过", ("12", "通过")), ("一百零五号已送到", ("一百零五号", "已送到")), ("1e3", ("1e3", "")),
    ("250abc 好", ("250abc", "好")), ("21 6", ("21", "6")), ("一号，已送到", ("一号", "已送到")),
    ("R12通过", ("R12", "通过")), ("十分满意", ("十分满意", "")), ("，二百一十六。", ("二百一十六", "")),
])
def test_where_a_number_ends(text, split):
    assert split_number(text) == split


def test_amounts_for_other_commands():
    assert chinese_or_arabic("两") == 2 and chinese_or_arabic("3") == 3 and chinese_or_arabic("三个") is None


def published_wish(chat) -> None:
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-liu", "审核 1 通过")


@pytest.mark.parametrize("said", ["认领 1e3", "认领 250abc", "认领 21 6", "认领 1abc", "认领 1 2"])
def test_a_number_glued_to_letters_or_followed_by_another_acts_on_nothing(chat, app, said):
    published_wish(chat)
    assert chat.say("o-li", said) == "请这样写：认领 12（12 是心愿编号）"
    with session_of(app) as s:
        assert s.scalar(select(func.count(Claim.id))) == 0


def test_spoken_numbers_speech_punctuation_and_a_misheard_keyword(chat, app):
    published_wish(chat)
    assert chat.voice("o-li", "任领一号。") == (
        "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。")
    assert chat.voice("o-li", "完成一号，已送到。") == "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。"
    assert chat.say("o-li", "认领二百一十六！") == "没有找到心愿 #216。"
    assert chat.say("o-li", "查询二百一十六") == "没有找到心愿 #216。"
    with session_of(app) as s:
        claim = s.scalar(select(Claim))
        assert (claim.status, claim.note) == ("completed", "已送到")


def test_a_homophone_opening_an_ordinary_sentence_stays_a_sentence(chat):
    # 确认 (que ren) and 缺人 sound alike, but a sentence follows, not a number.
    assert chat.say("o-li", "缺人手吗") == MEMBER_HINT


def test_the_demos_printed_conversation_starts_from_a_newcomer_and_ends_confirmed(client, app, wechat_api):
    from composition.demo import conversation, seed

    from .chat import Chat

    with app.extensions["wishbot"].db.transaction() as s:
        seed(s)
        n = s.scalar(select(func.max(Wish.id))) + 1
    chat = Chat(client, app, wechat_api)
    now = local_time(utcnow())
    day, year = f"{now.month}月{now.day}日", now.year
    replies = [
        "您是想许这个心愿吗：家里灯泡坏了，想请人来换一下\n是的话，请告诉我您住在哪个社区，回复数字或社区名：\n"
        "1. 新城社区\n2. 新兴社区\n3. 东山社区\n4. 北寿社区\n5. 福民社区\n6. 福阳社区\n7. 南康社区\n8. 站前社区\n"
        "（不是就回复「不是」）",
        "新城社区有2个网格，请问您住哪一个？回复数字或名称（不知道就回复「不知道」）：\n1. 第一网格\n2. 第二网格",
        f"收到您的心愿 #{n}，已登记在新城社区第一网格。网格员核实后会发布，有消息会告诉您。\n发「我的心愿」可以随时查看。",
        f"新城社区/第一网格等您审核 2 条：\n心愿 #1 需要一副老花镜，看报纸看不清了（王**，{day}）\n"
        f"心愿 #{n} 家里灯泡坏了，想请人来换一下（微**，{day}）\n回复「审核 1 通过」或「审核 1 驳回 原因」。",
        f"心愿 #{n} 已发布到志愿者群。",
        f"认领成功！心愿 #{n}：家里灯泡坏了，想请人来换一下\n许愿人的联系方式已私信发给您。完成后回复「完成 {n}」。",
        f"谢谢您！心愿 #{n} 已报告完成，工时 2小时，许愿人确认后核实。可以再发一张照片留作记录。",
        f"心愿 #{n} 已确认圆梦，谢谢您！",
        # 我的服务 lists the service just confirmed, next to the demo's earlier ones
        f"李建国，您{year}年的服务记录：\n已核实工时 4 小时，积分 4 分\n完成心愿 3 个\n待核实工时 2 小时（许愿人确认后计入积分）\n"
        f"最近的服务：\n· {now:%m-%d} #{n} 家里灯泡坏了，想请人来… 2小时 已核实\n· {now:%m-%d} #5 想请人上门理发 2小时 已核实\n"
        f"· {now:%m-%d} #4 腿脚不便，想借一个轮椅 2小时 待核实",
    ]
    chat.dialog([(openid, text, reply) for (openid, text, _why), reply in zip(conversation(n), replies, strict=True)])
