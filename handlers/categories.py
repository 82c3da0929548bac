"""What a wish is: its category, urgency, and whether it is a common (共性) wish.

The bot guesses a category and urgency from the text; the grid worker can change them
(`分类 N 类别`, `紧急 N 级别`, `共性 N K人`).
"""
from __future__ import annotations

import re

from bot.router import CommandGroup
from bot.text import split_first
from models import BadInput, Wish

from . import needs
from .context import Context

group = CommandGroup()

OTHER = "其他"
# Categories the source articles name, with their everyday words, live in lexicon/needs.txt.
CATEGORIES: tuple[str, ...] = (*needs.categories(), OTHER)

URGENCY_LABELS = {1: "不急", 2: "一般", 3: "较急", 4: "紧急"}
_URGENT_WORDS = ("特别急", "很急", "非常急", "紧急", "急需", "马上", "尽快", "急")
_URGENCY_WORDS = {label: level for level, label in URGENCY_LABELS.items()}
_COUNT = re.compile(r"^(\d{1,4})\s*(?:人|个人|户|名)?$")
MAX_BENEFICIARIES = 9999


def guess_category(text: str) -> str:
    """The category of the first lexicon section one of its words belongs to; 其他 when none."""
    return needs.read(text).category or OTHER


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


# Each returns whether it changed the wish: a correction to what the wish already is writes
# nothing (no timeline row).


def set_category(ctx: Context, wish: Wish, category: str) -> bool:
    ctx.scope.require_staff_of(wish)
    category = category.strip()
    if category not in CATEGORIES:
        raise BadInput(f"没有这个类别。可选：{'、'.join(CATEGORIES)}")
    if category == (wish.category or OTHER):
        return False
    note = f"{wish.category or OTHER} → {category}"  # the label (修改类别) names the field
    ctx.change(wish, "category", lambda: wish.describe_as(category=category), note=note)
    return True


def set_urgency(ctx: Context, wish: Wish, level: int) -> bool:
    ctx.scope.require_staff_of(wish)
    if level not in URGENCY_LABELS:
        raise BadInput("紧急程度写 1 到 4：1不急 2一般 3较急 4紧急")
    if level == wish.urgency:
        return False
    note = f"{URGENCY_LABELS.get(wish.urgency, wish.urgency)} → {URGENCY_LABELS[level]}"
    ctx.change(wish, "urgency", lambda: wish.describe_as(urgency=level), note=note)
    return True


def set_beneficiaries(ctx: Context, wish: Wish, count: int) -> bool:
    """More than one beneficiary makes it a common (共性) wish; one makes it individual again."""
    ctx.scope.require_staff_of(wish)
    if not 1 <= count <= MAX_BENEFICIARIES:
        raise BadInput(f"受益人数要在1到{MAX_BENEFICIARIES}之间。")
    if count == wish.beneficiaries and wish.kind == ("common" if count > 1 else "individual"):
        return False
    before = describe(wish)
    ctx.change(wish, "kind", lambda: wish.describe_as(beneficiaries=count),
               note=lambda: f"{before} → {describe(wish)}")
    return True


# --- chat commands -----------------------------------------------------------------------------


@group.command("分类", roles={"gridworker", "admin"}, usage="分类 12 生活用品 —— 修改12号心愿的类别")
def change_category(ctx: Context, args: str) -> str:
    token, category = split_first(args)
    wish = ctx.wish_from(token, "分类 12 生活用品", for_update=True)
    if not category:
        return f"心愿 {wish.ref} 现在是「{wish.category or OTHER}」。可选：{'、'.join(CATEGORIES)}"
    if not set_category(ctx, wish, category):
        return f"心愿 {wish.ref} 的类别本来就是「{wish.category or OTHER}」，没有改动。"
    return f"心愿 {wish.ref} 的类别已改为「{wish.category}」。"


@group.command("紧急", roles={"gridworker", "admin"}, usage="紧急 12 4 —— 修改紧急程度（1不急 2一般 3较急 4紧急）")
def change_urgency(ctx: Context, args: str) -> str:
    token, level_text = split_first(args)
    wish = ctx.wish_from(token, "紧急 12 4", for_update=True)
    level_text = level_text.strip()
    level = _URGENCY_WORDS.get(level_text) or (int(level_text) if level_text.isdigit() else 0)
    if not set_urgency(ctx, wish, level):
        return f"心愿 {wish.ref} 的紧急程度本来就是「{URGENCY_LABELS[level]}」，没有改动。"
    return f"心愿 {wish.ref} 的紧急程度已改为「{URGENCY_LABELS[level]}」。"


@group.command("共性", roles={"gridworker", "admin"}, usage="共性 12 20人 —— 设为20人受益的共性心愿")
def change_beneficiaries(ctx: Context, args: str) -> str:
    token, count_text = split_first(args)
    wish = ctx.wish_from(token, "共性 12 20人", for_update=True)
    match = _COUNT.match(count_text.strip())
    if not match:
        raise BadInput(f"请写上受益人数，比如：共性 {wish.id} 20人")
    changed = set_beneficiaries(ctx, wish, int(match.group(1)))
    if not changed:
        what = f"共性心愿，受益{wish.beneficiaries}人" if wish.kind == "common" else "个人心愿"
        return f"心愿 {wish.ref} 本来就是{what}，没有改动。"
    if wish.kind == "common":
        return f"心愿 {wish.ref} 已设为共性心愿，受益{wish.beneficiaries}人。"
    return f"心愿 {wish.ref} 已改回个人心愿。"
