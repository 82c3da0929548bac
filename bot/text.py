"""Text normalisation and the small argument parsers every command shares."""
from __future__ import annotations

import re
import unicodedata

from .numbers import CHINESE_NUMERALS, parse_number, split_number

_SPACES = re.compile(r"\s+")
# Full-width digits, letters and ＃ fold to ASCII so `认领 ＃１２３` is `认领 #123`; Chinese
# punctuation (，：) is left alone because it is part of what residents wrote.
_FOLDABLE = re.compile(r"[\uFF03\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]")


def normalise(text: str) -> str:
    """`认领　＃１２３` -> `认领 #123`: full-width digits and letters fold, whitespace collapses."""
    folded = _FOLDABLE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text or "")
    return _SPACES.sub(" ", folded).strip()


# Speech recognition ends a sentence with punctuation ("认领二百一十六。"); people add "？" or "!".
_TRAILING = "。.！!？?，,、；;～~…"


# What people say around a wish's number that names nothing more: 认领第12号心愿，谢谢🙏
_ORDINAL = re.compile(rf"^第\s*(?=[#\d{CHINESE_NUMERALS}])")
_NOTHING_MORE = re.compile(r"号|心愿|谢谢(?:您|你)?|麻烦(?:您|你)?了|辛苦(?:您|你)?了|[了啊吧呀哈]")


def wish_number_and_rest(args: str) -> tuple[str, str]:
    """`第12号心愿，谢谢🙏` -> (`12号`, ``): the number's token, and what else was said once the
    words that name nothing more (第, 号, 心愿, thanks) and marks are left out."""
    token, rest = split_first(_ORDINAL.sub("", args))
    return token, rest if any(char.isalnum() for char in _NOTHING_MORE.sub("", rest)) else ""


def without_leading_punctuation(text: str) -> str:
    """`，重复` -> `重复`: what follows a keyword (`驳回，重复`) without the mark that set it off."""
    return text.lstrip(_TRAILING + "：: ")


def without_trailing_punctuation(text: str) -> str:
    """`认领216。` -> `认领216`; text that is only punctuation (`?`) stays as it is."""
    stripped = text.rstrip(_TRAILING + " ")
    return stripped or text


# `#12 通过 3人` -> (`#12`, `通过 3人`), `12通过` -> (`12`, `通过`): see bot.numbers.
split_first = split_number

__all__ = ["normalise", "parse_number", "split_first", "without_trailing_punctuation"]
