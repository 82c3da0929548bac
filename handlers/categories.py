"""What a wish is: its category, urgency, and whether it is a common (共性) wish.

The bot guesses a category and urgency from the text; the grid worker can change them
(`分类 N 类别`, `紧急 N 级别`, `共性 N K人`).
"""
from __future__ import annotations

import re

from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Wish

from .context import Context
from .permissions import require_staff_of

group = CommandGroup()

OTHER = "其他"
# Categories the source articles name, each with the words that suggest it. Order matters:
# the first category with a matching word wins, so narrower ones come first.
_KEYWORDS: dict[str, tuple[str, ...]] = {
    "医疗器械": ("助听器", "轮椅", "拐杖", "血压计", "血糖仪", "助行器", "老花镜", "眼镜", "制氧机", "护理床"),
    "学习用品": ("书包", "文具", "学习用品", "课外书", "书籍", "台灯", "字典", "笔", "练习本", "书桌"),
    "房屋维修": ("漏水", "水龙头", "水暖", "暖气", "修理", "维修", "门锁", "灯泡", "电路", "下水道", "屋顶"),
    "居家清洁": ("打扫", "清洁", "卫生", "清运", "杂物", "粉刷", "擦玻璃"),
    "上门服务": ("上门", "理发", "代办", "送医", "陪诊", "体检", "补办"),
    "精神慰藉": ("陪伴", "聊天", "看望", "探望", "慰问", "读报", "孤单", "心理"),
    "生活用品": ("被子", "衣服", "棉衣", "电饭煲", "家电", "大米", "食用油", "化妆品", "鞋", "毛毯", "电风扇"),
}
CATEGORIES: tuple[str, ...] = (*_KEYWORDS, OTHER)

URGENCY_LABELS = {1: "不急", 2: "一般", 3: "较急", 4: "紧急"}
_URGENT_WORDS = ("特别急", "很急", "非常急", "紧急", "急需", "马上", "尽快", "急")
_URGENCY_WORDS = {label: level for level, label in URGENCY_LABELS.items()}
_COUNT = re.compile(r"^(\d{1,4})\s*(?:人|个人|户|名)?$")
MAX_BENEFICIARIES = 9999


def guess_category(text: str) -> str:
    """The first category whose words appear in the text; 其他 when none does."""
    for category, words in _KEYWORDS.items():
        if any(word in text for word in words):
            return category
    return OTHER


def guess_urgency(text: str) -> int:
    if any(word in text for word in _URGENT_WORDS[:5]):
        return 4
    if any(word in text for word in _URGENT_WORDS[5:]):
        return 3
    return 2


def describe(wish: Wish) -> str:
    """`生活用品·一般`, or with a common wish `学习用品·一般·共性20人`."""
    parts = [wish.category or OTHER, URGENCY_LABELS.get(wish.urgency, str(wish.urgency))]
    if wish.kind == "common":
        parts.append(f"共性{wish.beneficiaries}人")
    return "·".join(parts)


# --- services the dashboard calls too ---------------------------------------------------------


def set_category(ctx: Context, wish: Wish, category: str) -> None:
    require_staff_of(ctx.person, wish)
    category = category.strip()
    if category not in CATEGORIES:
        raise BadInput(f"没有这个类别。可选：{'、'.join(CATEGORIES)}")
    note = f"类别：{wish.category or OTHER} → {category}"
    ctx.change(wish, "category", lambda: wish.describe_as(category=category), note=note)


def set_urgency(ctx: Context, wish: Wish, level: int) -> None:
    require_staff_of(ctx.person, wish)
    if level not in URGENCY_LABELS:
        raise BadInput("紧急程度写 1 到 4：1不急 2一般 3较急 4紧急")
    note = f"紧急程度：{URGENCY_LABELS.get(wish.urgency, wish.urgency)} → {URGENCY_LABELS[level]}"
    ctx.change(wish, "urgency", lambda: wish.describe_as(urgency=level), note=note)


def set_beneficiaries(ctx: Context, wish: Wish, count: int) -> None:
    """More than one beneficiary makes it a common (共性) wish; one makes it individual again."""
    require_staff_of(ctx.person, wish)
    if not 1 <= count <= MAX_BENEFICIARIES:
        raise BadInput(f"受益人数要在1到{MAX_BENEFICIARIES}之间。")
    before = describe(wish)
    ctx.change(wish, "kind", lambda: wish.describe_as(beneficiaries=count),
               note=lambda: f"{before} → {describe(wish)}")


# --- chat commands -----------------------------------------------------------------------------


@group.command("分类", roles={"gridworker", "admin"}, usage="分类 N 类别 —— 修改心愿类别")
def change_category(ctx: Context, args: str) -> str:
    token, category = split_first(args)
    wish = ctx.wish_from(token, "分类 N 类别", for_update=True)
    if not category:
        return f"心愿 {wish.ref} 现在是「{wish.category or OTHER}」。可选：{'、'.join(CATEGORIES)}"
    set_category(ctx, wish, category)
    return f"心愿 {wish.ref} 的类别已改为「{wish.category}」。"


@group.command("紧急", roles={"gridworker", "admin"}, usage="紧急 N 1-4 —— 修改紧急程度（4最急）")
def change_urgency(ctx: Context, args: str) -> str:
    token, level_text = split_first(args)
    wish = ctx.wish_from(token, "紧急 N 1-4", for_update=True)
    level_text = level_text.strip()
    level = _URGENCY_WORDS.get(level_text) or (int(level_text) if level_text.isdigit() else 0)
    set_urgency(ctx, wish, level)
    return f"心愿 {wish.ref} 的紧急程度已改为「{URGENCY_LABELS[level]}」。"


@group.command("共性", roles={"gridworker", "admin"}, usage="共性 N K人 —— 设为多人受益的共性心愿")
def change_beneficiaries(ctx: Context, args: str) -> str:
    token, count_text = split_first(args)
    wish = ctx.wish_from(token, "共性 N K人", for_update=True)
    match = _COUNT.match(count_text.strip())
    if not match:
        raise BadInput(f"请写上受益人数，比如：共性 {wish.id} 20人")
    set_beneficiaries(ctx, wish, int(match.group(1)))
    if wish.kind == "common":
        return f"心愿 {wish.ref} 已设为共性心愿，受益{wish.beneficiaries}人。"
    return f"心愿 {wish.ref} 已改回个人心愿。"
