"""What a wish is: a category guessed from its text, urgency, individual or common (共性)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from handlers.categories import CATEGORIES, guess_category, guess_urgency
from models import Wish, WishEvent

from .world import session_of, stamps


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


CHOICES = "医疗器械、学习用品、房屋维修、居家清洁、上门服务、精神慰藉、生活用品、其他"


def stored(app, number: int) -> Wish:
    with session_of(app) as s:
        return s.get(Wish, number)


def test_the_grid_worker_corrects_what_the_bot_guessed(chat, app):
    chat.dialog([("o-wang", "许愿 想给孙子买个书包", "收到您的心愿 #1，网格员审核后会发布。")])
    wish = stored(app, 1)
    assert (wish.category, wish.urgency, wish.kind, wish.beneficiaries) == ("学习用品", 2, "individual", 1)

    chat.dialog([("o-liu", "分类 1 生活用品", "心愿 #1 的类别已改为「生活用品」。")])
    assert stored(app, 1).category == "生活用品"
    chat.dialog([("o-liu", "紧急 1 4", "心愿 #1 的紧急程度已改为「紧急」。")])
    assert stored(app, 1).urgency == 4
    chat.dialog([("o-liu", "紧急 1 较急", "心愿 #1 的紧急程度已改为「较急」。")])
    assert stored(app, 1).urgency == 3
    chat.dialog([("o-liu", "共性 1 20人", "心愿 #1 已设为共性心愿，受益20人。")])
    wish = stored(app, 1)
    assert (wish.kind, wish.beneficiaries) == ("common", 20)
    at = stamps(app, 1)
    chat.dialog([("o-liu", "查询 1", "心愿 #1（待审核）\n想给孙子买个书包\n类别：生活用品·较急·共性20人\n"
                  "社区网格：新城社区/第一网格\n许愿人：王秀兰，13800000001，新城小区3号楼401\n"
                  f"· {at[0]} 王秀兰（微信）提交心愿：待审核\n"
                  f"· {at[1]} 刘芳（微信）修改类别：学习用品 → 生活用品\n"
                  f"· {at[2]} 刘芳（微信）修改紧急程度：一般 → 紧急\n"
                  f"· {at[3]} 刘芳（微信）修改紧急程度：紧急 → 较急\n"
                  f"· {at[4]} 刘芳（微信）修改受益人数：生活用品·较急 → 生活用品·较急·共性20人")])
    with session_of(app) as s:
        notes = s.scalars(select(WishEvent.note).where(WishEvent.action.in_(["category", "urgency", "kind"]))
                          .order_by(WishEvent.id)).all()
    assert notes[:2] == ["学习用品 → 生活用品", "一般 → 紧急"]  # the label names the field, the note does not

    chat.dialog([("o-liu", "共性 1 1人", "心愿 #1 已改回个人心愿。")])
    assert stored(app, 1).kind == "individual"


def test_category_filter_for_members(chat):
    chat.dialog([
        ("o-wang", "许愿 想给孙子买个书包", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-wang", "许愿 家里水龙头漏水", "收到您的心愿 #2，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
        ("o-liu", "审核 2 通过", "心愿 #2 已发布到志愿者群。"),
        ("o-li", "心愿列表 学习用品", "待认领的心愿：\n#1【学习用品】想给孙子买个书包（王**）\n"
         "想认领哪个，就回复「认领」加编号，比如：认领 1"),
        ("o-li", "心愿列表", "待认领的心愿：\n#1【学习用品】想给孙子买个书包（王**）\n#2【房屋维修】家里水龙头漏水（王**）\n"
         "想认领哪个，就回复「认领」加编号，比如：认领 1"),
        ("o-li", "心愿列表 电器", f"没有这个类别。可选：{CHOICES}"),
    ])


def test_refusals_and_bad_values_change_nothing(chat, app):
    chat.dialog([
        ("o-wang", "许愿 想给孙子买个书包", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-li", "分类 1 生活用品", "「分类」不是您能用的命令。发「帮助」看看您能做什么。"),
        ("o-zhou", "分类 1 生活用品", "心愿 #1 不在您负责的网格。"),
        ("o-liu", "分类 1 电器", f"没有这个类别。可选：{CHOICES}"),
        ("o-liu", "紧急 1 9", "紧急程度写 1 到 4：1不急 2一般 3较急 4紧急"),
        ("o-liu", "共性 1 很多", "请写上受益人数，比如：共性 1 20人"),
        ("o-liu", "分类 1", f"心愿 #1 现在是「学习用品」。可选：{CHOICES}"),  # the current one and the choices
    ])
    wish = stored(app, 1)
    assert (wish.category, wish.urgency, wish.kind) == ("学习用品", 2, "individual")


def test_a_correction_to_what_the_wish_already_is_says_so_and_writes_nothing(chat, app):
    chat.dialog([
        ("o-wang", "许愿 想给孙子买个书包", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "分类 1 学习用品", "心愿 #1 的类别本来就是「学习用品」，没有改动。"),
        ("o-liu", "紧急 1 一般", "心愿 #1 的紧急程度本来就是「一般」，没有改动。"),
        ("o-liu", "共性 1 1人", "心愿 #1 本来就是个人心愿，没有改动。"),
        ("o-liu", "共性 1 20人", "心愿 #1 已设为共性心愿，受益20人。"),
        ("o-liu", "共性 1 20", "心愿 #1 本来就是共性心愿，受益20人，没有改动。"),
    ])
    at = stamps(app, 1)
    assert len(at) == 2  # submitted, and the one real change
    chat.dialog([("o-liu", "查询 1", "心愿 #1（待审核）\n想给孙子买个书包\n类别：学习用品·一般·共性20人\n"
                  "社区网格：新城社区/第一网格\n许愿人：王秀兰，13800000001，新城小区3号楼401\n"
                  f"· {at[0]} 王秀兰（微信）提交心愿：待审核\n"
                  f"· {at[1]} 刘芳（微信）修改受益人数：学习用品·一般 → 学习用品·一般·共性20人")])
