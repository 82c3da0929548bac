"""Command parsing, number forms, role refusals and hints."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.text import normalise, parse_number, split_first
from handlers import ROUTER
from models import Claim, Wish

from .replies import HELP, HINT, MEMBER_HINT, STAFF_HINT


@pytest.mark.parametrize("said", ["认领 123", "认领123", "认领 #１２３", "认领　＃123", "认领#123", "认领 # 123"])
def test_every_number_form_is_the_same_command(said):
    match = ROUTER.match(normalise(said))
    assert match is not None and match.keyword == "认领"
    token, _ = split_first(match.args)
    assert parse_number(token) == 123


@pytest.mark.parametrize("token", ["abc", "12a", "", "#", "-3"])
def test_non_numbers_are_refused(token):
    assert parse_number(token) is None


def test_longest_keyword_wins():
    assert ROUTER.match("心愿列表").keyword == "心愿列表"
    assert ROUTER.match("心愿 想要书包").keyword == "心愿"
    assert ROUTER.match("我的心愿").keyword == "我的心愿"


def test_duplicate_keywords_fail_at_start_up():
    from bot.router import CommandGroup, DuplicateKeyword, Router

    a, b = CommandGroup(), CommandGroup()
    a.command("认领")(lambda ctx, args: "")
    b.command("认领")(lambda ctx, args: "")
    with pytest.raises(DuplicateKeyword):
        Router([a, b])


CLAIMED = "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"


def refusal(keyword: str) -> str:
    return f"「{keyword}」不是您能用的命令。发「帮助」看看您能做什么。"


def published_wish(chat) -> None:
    chat.dialog([
        ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
    ])


@pytest.mark.parametrize("said", ["认领 1", "认领1", "认领 #１", "认领　＃1"])
def test_claim_with_any_number_form(chat, app, said):
    published_wish(chat)
    chat.dialog([("o-li", said, CLAIMED)])
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.get(Wish, 1).status == "claimed"


def test_a_resident_may_not_claim_and_nothing_changes(chat, app):
    published_wish(chat)
    chat.dialog([("o-zhao", "认领 1", refusal("认领"))])
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.get(Wish, 1).status == "published"
        assert s.scalar(select(Claim)) is None


def test_a_member_may_not_review(chat, app):
    chat.dialog([
        ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-li", "审核 1 通过", refusal("审核")),
    ])
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.get(Wish, 1).status == "pending_review"


def test_a_grid_worker_reviews_only_their_grid(chat, app):
    chat.dialog([
        ("o-sun", "许愿 孩子想要书包", "收到您的心愿 #1，网格员审核后会发布。"),  # 东山社区
        ("o-liu", "审核 1 通过", "心愿 #1 不在您负责的网格。"),
    ])
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.get(Wish, 1).status == "pending_review"
    chat.dialog([("o-zhou", "审核 1 通过", "心愿 #1 已发布到志愿者群。")])


def test_someone_else_cannot_withdraw_or_confirm(chat, app):
    published_wish(chat)
    chat.dialog([("o-zhao", "撤回 1", "心愿 #1 不是您提交的。")])
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.get(Wish, 1).status == "published"


def test_claiming_twice_and_claiming_a_taken_wish(chat):
    published_wish(chat)
    chat.dialog([
        ("o-li", "认领 1", CLAIMED),
        ("o-li", "认领 1", "您已认领心愿 #1。"),
        ("o-chen", "认领 1", "心愿 #1 已被认领，请看看其他心愿。"),
    ])


@pytest.mark.parametrize("said, expected", [
    ("认领", "请这样写：认领 12（12 是心愿编号）"),
    ("认领 abc", "请这样写：认领 12（12 是心愿编号）"),
    ("认领 999", "没有找到心愿 #999。"),
    ("完成 1", "您没有认领心愿 #1。"),
    ("放弃 1", "您没有认领心愿 #1。"),
])
def test_bad_input_gets_a_short_clear_answer(chat, said, expected):
    published_wish(chat)
    chat.dialog([("o-li", said, expected)])


def test_empty_and_overlong_wishes_are_refused(chat, app):
    chat.dialog([
        ("o-wang", "许愿", "请写上心愿内容，比如：许愿 需要一副老花镜"),
        ("o-wang", "许愿 " + "很" * 600, "心愿内容太长了，请控制在500字以内。"),
    ])
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.scalar(select(Wish)) is None


def test_text_that_is_no_command_gets_a_hint_that_fits_the_sender(chat):
    """A resident (or someone new) is asked what they need; a volunteer who is no resident,
    who cannot wish, is shown the wishes to claim; staff their queue — greeted or not."""
    from handlers.natural import GREETING_REPLY

    chat.dialog([
        ("o-wang", "你好", GREETING_REPLY),
        ("o-wang", "今天天气不错", HINT),
        ("o-new", "今天天气不错", HINT),
        ("o-li", "今天天气不错", MEMBER_HINT),
        ("o-liu", "今天天气不错", STAFF_HINT),
        ("o-li", "你好", "您好！我是微心愿助手。发「心愿列表」看看可以认领的心愿；发「帮助」看全部用法。"),
        ("o-liu", "你好", "您好！我是微心愿助手。发「待审核」看等您审核的心愿；发「帮助」看全部用法。"),
    ])


def test_help_lists_the_commands_of_your_role(chat):
    chat.dialog([
        ("o-wang", "帮助", HELP["resident"]),
        ("o-li", "帮助", HELP["member"]),
        ("o-liu", "帮助", HELP["gridworker"]),
    ])


def test_a_stranger_is_a_resident(chat):
    chat.dialog([("o-stranger", "帮助", HELP["resident"])])


def test_review_reply_never_leaks_an_exception(chat, app, monkeypatch):
    import handlers.review as review

    def broken(*args, **kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(review, "publish_wish", broken)
    chat.say("o-wang", "许愿 需要一副老花镜")
    reply = chat.say("o-liu", "审核 1 通过")
    assert reply == "系统繁忙，请稍后再试。"
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.get(Wish, 1).status == "pending_review"


def test_normalising_keeps_chinese_punctuation():
    assert normalise("认领　＃１２３") == "认领 #123"
    assert normalise("许愿  需要：老花镜，一副") == "许愿 需要：老花镜，一副"


def test_a_member_cannot_claim_their_own_wish(chat, app):
    from handlers import directory

    with app.extensions["wishbot"].db.transaction() as s:
        directory.add_person(s, "o-wang", "member", "王秀兰", community="新城社区", unit="市税务局")
    published_wish(chat)
    chat.dialog([("o-wang", "认领 1", "心愿 #1 是您自己的心愿，不能认领。")])
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.get(Wish, 1).status == "published" and s.scalar(select(Claim)) is None


@pytest.mark.parametrize("said, limit", [("审核 1 驳回 " + "很" * 201, "200"), ("完成 1 " + "很" * 501, "500")])
def test_overlong_notes_are_refused_and_change_nothing(chat, app, said, limit):
    chat.say("o-wang", "许愿 需要一副老花镜")
    if said.startswith("完成"):
        chat.say("o-liu", "审核 1 通过")
        chat.say("o-li", "认领 1")
    before = wish_status(app)
    who = "o-liu" if said.startswith("审核") else "o-li"
    what = "驳回原因" if said.startswith("审核") else "说明"
    chat.dialog([(who, said, f"{what}太长了，请控制在{limit}字以内。")])
    assert wish_status(app) == before


def wish_status(app) -> str:
    with app.extensions["wishbot"].db.sessions() as s:
        return s.get(Wish, 1).status
