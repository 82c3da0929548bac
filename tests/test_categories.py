"""What a wish is: a category guessed from its text, urgency, individual or common (共性)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.categories import CATEGORIES, guess_category, guess_urgency
from models import Wish, WishEvent

from .world import session_of


@pytest.mark.parametrize("text, category", [
    ("给孩子买个新书包和文具", "学习用品"),
    ("想要一床厚被子", "生活用品"),
    ("需要一个助听器", "医疗器械"),
    ("楼道杂物需要清运", "居家清洁"),
    ("独居老人想有人陪伴聊聊天", "精神慰藉"),
    ("家里水龙头漏水", "房屋维修"),
    ("行动不便，想请人上门理发", "上门服务"),
    ("想看一场电影", "其他"),
])
def test_guess_category(text, category):
    assert guess_category(text) == category
    assert category in CATEGORIES


def test_guess_urgency():
    assert (guess_urgency("需要一副老花镜"), guess_urgency("暖气坏了，尽快修"), guess_urgency("急需轮椅")) == (2, 3, 4)


def stored(app, number: int) -> Wish:
    with session_of(app) as s:
        return s.get(Wish, number)


def test_the_grid_worker_corrects_what_the_bot_guessed(chat, app):
    chat.say("o-wang", "许愿 想给孙子买个书包")
    wish = stored(app, 1)
    assert (wish.category, wish.urgency, wish.kind, wish.beneficiaries) == ("学习用品", 2, "individual", 1)

    assert "#1" in chat.say("o-liu", "分类 1 生活用品") and stored(app, 1).category == "生活用品"
    assert "#1" in chat.say("o-liu", "紧急 1 4") and stored(app, 1).urgency == 4
    assert "#1" in chat.say("o-liu", "紧急 1 较急") and stored(app, 1).urgency == 3
    reply = chat.say("o-liu", "共性 1 20人")
    assert "#1" in reply and "共性" in reply
    wish = stored(app, 1)
    assert (wish.kind, wish.beneficiaries) == ("common", 20)
    assert "生活用品·较急·共性20人" in chat.say("o-liu", "查询 1")
    with session_of(app) as s:
        notes = s.scalars(select(WishEvent.note).where(WishEvent.action.in_(["category", "urgency", "kind"]))
                          .order_by(WishEvent.id)).all()
    assert notes[0] == "类别：学习用品 → 生活用品" and notes[1] == "紧急程度：一般 → 紧急"

    assert "#1" in chat.say("o-liu", "共性 1 1人")
    assert stored(app, 1).kind == "individual"


def test_category_filter_for_members(chat):
    chat.say("o-wang", "许愿 想给孙子买个书包")
    chat.say("o-wang", "许愿 家里水龙头漏水")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-liu", "审核 2 通过")
    listed = chat.say("o-li", "心愿列表 学习用品")
    assert "#1【学习用品】" in listed and "#2" not in listed
    assert "#2【房屋维修】" in chat.say("o-li", "心愿列表")
    assert "没有这个类别" in chat.say("o-li", "心愿列表 电器")


def test_refusals_and_bad_values_change_nothing(chat, app):
    chat.say("o-wang", "许愿 想给孙子买个书包")
    refusal = chat.say("o-li", "分类 1 生活用品")
    assert "不是您能用的命令" in refusal and "\n" not in refusal
    assert "不在您负责的网格" in chat.say("o-zhou", "分类 1 生活用品")
    assert "没有这个类别" in chat.say("o-liu", "分类 1 电器")
    assert "1 到 4" in chat.say("o-liu", "紧急 1 9")
    assert "受益人数" in chat.say("o-liu", "共性 1 很多")
    assert "学习用品" in chat.say("o-liu", "分类 1")  # shows the current one and the choices
    wish = stored(app, 1)
    assert (wish.category, wish.urgency, wish.kind) == ("学习用品", 2, "individual")
