"""Spreadsheet cells that stay text: exported text a spreadsheet would run as a formula (or a
DDE command, "=cmd|' /c calc'!A1") is disarmed, and imports take the guard off again."""
from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


_FIRST = frozenset(FORMULA_START)  # each is one character: a set look-up, for exports of a million rows


def formula_like(value) -> bool:
    return isinstance(value, str) and value[:1] in _FIRST


def csv_cell(value):
    """A CSV has no cell types, so such text gets a leading quote."""
    return "'" + value if formula_like(value) else value


def plain_cell(value: str) -> str:
    return value[1:] if value.startswith("'") and formula_like(value[1:]) else value
