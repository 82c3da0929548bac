"""Text normalisation and the small argument parsers every command shares."""
from __future__ import annotations

import re
import unicodedata

_SPACES = re.compile(r"\s+")
# Full-width digits, letters and ＃ fold to ASCII so `认领 ＃１２３` is `认领 #123`; Chinese
# punctuation (，：) is left alone because it is part of what residents wrote.
_FOLDABLE = re.compile(r"[\uFF03\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]")
_WISH_NUMBER = re.compile(r"^#?\s*(\d{1,9})$")


def normalise(text: str) -> str:
    """`认领　＃１２３` -> `认领 #123`: full-width digits and letters fold, whitespace collapses."""
    folded = _FOLDABLE.sub(lambda m: unicodedata.normalize("NFKC", m.group()), text or "")
    return _SPACES.sub(" ", folded).strip()


def parse_number(token: str) -> int | None:
    """`123`, `#123`, `# 123` -> 123; anything else -> None."""
    match = _WISH_NUMBER.match(token.strip())
    return int(match.group(1)) if match else None


def split_first(text: str) -> tuple[str, str]:
    """The first word and the rest: `#12 通过 3人` -> (`#12`, `通过 3人`).

    A number glued to what follows (`12通过`) is split too, so spaces stay optional.
    """
    text = text.strip()
    match = re.match(r"^(#?\s*\d+|R\s*\d+)\s*(.*)$", text, re.IGNORECASE | re.DOTALL)
    if match:
        return match.group(1).replace(" ", ""), match.group(2).strip()
    head, _, rest = text.partition(" ")
    return head, rest.strip()
