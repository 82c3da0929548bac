"""Hours of service as people write or say them: `2小时`, `1.5小时`, `两个半小时`, `半小时`,
`一个半钟头`, `1小时20分钟`, `90分钟`; Chinese numerals are read by bot.numbers."""
from __future__ import annotations

import re

from bot.numbers import CHINESE_NUMERALS, amount

_NUMBER = rf"(?:\d+(?:\.\d+)?|[{CHINESE_NUMERALS}点]+)"
_HOURS = re.compile(
    rf"(?:(?P<whole>{_NUMBER})\s*个?\s*(?P<half>半)?|(?P<only_half>半)\s*个?)\s*(?:小时|钟头|个钟)"
    rf"(?:\s*(?P<minutes>{_NUMBER})\s*分钟?)?"
    rf"|(?P<only_minutes>{_NUMBER})\s*分钟"
)
_BARE = re.compile(rf"^\s*(?P<value>{_NUMBER})\s*(?:h|H)?\s*$")


def _value(match: re.Match) -> float | None:
    if match.group("only_minutes"):
        minutes = amount(match.group("only_minutes"))
        return None if minutes is None else minutes / 60
    hours = 0.5 if match.group("only_half") else amount(match.group("whole"))
    if hours is None:
        return None
    if match.group("half"):
        hours += 0.5
    if match.group("minutes"):
        minutes = amount(match.group("minutes"))
        if minutes is None:
            return None
        hours += minutes / 60
    return hours


def find_hours(text: str) -> tuple[float | None, str]:
    """The hours named in free text, and the text without them:
    `已送到 两个半小时` -> (2.5, `已送到`). No hours named: (None, text)."""
    matches = list(_HOURS.finditer(text))
    if not matches:
        return None, text
    match = matches[-1]  # the amount goes last: `完成 12 等了一小时才送到 2小时`
    hours = _value(match)
    if hours is None:
        return None, text
    rest = (text[: match.start()] + " " + text[match.end():]).strip()
    return hours, re.sub(r"\s+", " ", rest).strip(" ，,。")


def parse_hours(text: str) -> float | None:
    """An amount on its own, as `工时` takes it: `2`, `2.5`, `两个半小时`, `两`."""
    text = text.strip()
    bare = _BARE.match(text)
    if bare:
        return amount(bare.group("value"))
    hours, rest = find_hours(text)
    return hours if hours is not None and not rest else None
