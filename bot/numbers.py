"""Numbers in what people type or say: wish numbers, counts, and where a number ends.

A number is a whole token. `12`, `#12`, `# 12`, `１２` (folded earlier by bot.text.normalise),
`十二`, `二百一十六`, `一百零五号` are numbers; `1e3`, `250abc`, `12.5` are not, and nothing in
them is taken for one. Chinese numerals (spoken, then written down by speech recognition) are
read by cn2an, so `两百`, `二一六` work as a listener would hear them.

Other commands reuse these: `chinese_or_arabic` reads a count (`3`, `三`, `两`) without the
wish-number trimmings (`#`, `号`); `amount` reads a quantity that may have a fraction (`1.5`,
`一点五`), as hours of service are written.
"""
from __future__ import annotations

import re

import cn2an

MAX_DIGITS = 9
CHINESE_NUMERALS = "零〇一二两三四五六七八九十百千万"
_ARABIC = re.compile(rf"\d{{1,{MAX_DIGITS}}}")
_CHINESE = re.compile(rf"[{CHINESE_NUMERALS}]{{1,16}}")
# The head of a text that is a number: `#`, digits or Chinese numerals, an optional 号. What may
# follow decides whether it is a whole token (see split_number).
_HEAD = re.compile(rf"^(#\s*)?(\d+|[{CHINESE_NUMERALS}]+)(号)?")
_REGISTRATION_HEAD = re.compile(r"^[Rr]\s*\d+")
# Punctuation speech recognition puts after a number: `完成一号，已送到。`
_SEPARATORS = "，,、：:。；; "
# After digits, these glue on to make a different word (1e3, 250abc, 12.5, 12-3, 12/3).
_GLUE_AFTER_DIGITS = re.compile(r"^[0-9A-Za-z._\-/+%]")


def chinese_or_arabic(word: str) -> int | None:
    """`216` or `二百一十六` (also `两百`, `二一六`) -> 216; anything else -> None."""
    word = word.strip()
    if _ARABIC.fullmatch(word):
        return int(word)
    if _CHINESE.fullmatch(word):
        try:
            value = cn2an.cn2an(word, "normal")
        except ValueError:
            return None
        value = int(value)
        return value if value < 10 ** MAX_DIGITS else None
    return None


def amount(text: str) -> float | None:
    """`2`, `1.5`, `两`, `一点五`, `十二` -> a number; anything else -> None."""
    try:
        return float(text) if text[0].isdigit() else float(cn2an.cn2an(text, "smart"))
    except (ValueError, KeyError, IndexError):
        return None


def parse_number(token: str) -> int | None:
    """A wish number as a whole token: `123`, `#123`, `# 123`, `二百一十六`, `105号` -> the int;
    anything else (`1e3`, `250abc`, `12 3`) -> None."""
    match = _HEAD.match(token.strip())
    if match is None or match.end() != len(token.strip()):
        return None
    return chinese_or_arabic(match.group(2))


def split_number(text: str) -> tuple[str, str]:
    """The first token and the rest, where a number may be glued to the Chinese text after it:
    `12通过` -> (`12`, `通过`), `一百零五号已送到` -> (`一百零五号`, `已送到`),
    `R12通过` -> (`R12`, `通过`). A number glued to letters or digits is no number: `1e3`
    stays one token (`1e3`, ``), and so does `250abc`.
    """
    text = text.strip().lstrip(_SEPARATORS)  # speech recognition's comma: `认领，二百一十六`
    registration = _REGISTRATION_HEAD.match(text)
    if registration:
        return registration.group().replace(" ", ""), text[registration.end():].strip()
    match = _HEAD.match(text)
    if match is not None:
        after = text[match.end():]
        digits = match.group(2)[0].isdigit()
        glued = bool(after) and not after[0].isspace() and after[0] not in _SEPARATORS
        if not glued:
            return match.group().replace(" ", ""), after.lstrip(_SEPARATORS).strip()
        if digits and not _GLUE_AFTER_DIGITS.match(after) or (
                not digits and (match.group(3) or len(match.group(2)) > 1) and is_cjk(after[0])):
            # `12通过`; `十二号已送到`, `一百零五通过` (a lone 十 or 一 before text is a word: 十分, 一下)
            return match.group().replace(" ", ""), after.strip()
    head, _, rest = text.partition(" ")
    return head, rest.strip()


def is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"
