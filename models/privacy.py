"""Scrubbing: what someone who may not see a wish's contact details reads of its text.

A wish's text often carries a phone number, an ID number or the requester's own name and
address. Everyone who is not staff of the wish's area or its active claimer (models.scope) reads
it through `scrub`, and anything shortened is scrubbed first (`brief`), so a cut can never leave
half a number behind for the pattern to miss.

Caught: mobile numbers (also `+86`), landlines with an area code (`0755-12345678`,
`(010)12345678`), bare 7–8 digit local numbers and 15- and 18-digit ID numbers (身份证) — in
Arabic or full-width digits or in numerals as typed or voice-recognised (`一三八…`, `幺三八…`, 两, 〇),
with short runs of spaces, dashes, dots, 、 or underscores between digits — door numbers of an
address (`东山路5号`, `3栋2单元501室`, `六号楼二单元四零一室`, `3-2-401`), and the given people's
phone, address and full name.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .directory import Person, mask_name

_D = "[0-9０-９]"  # an Arabic digit, half- or full-width
_NUMERALS = "〇零一二三四五六七八九幺两"  # as typed or as spoken: 幺 is 1, 两 is 2
_AS_DIGITS = str.maketrans(_NUMERALS, "0012345678912")
_N = f"[0-9０-９{_NUMERALS}]"  # a digit in any of these
_S = "[ \u3000\\-－–—.．、_＿]{0,3}"  # a short run of separators between digits
_GAP = "[ \u3000\\-－–—]{0,3}"  # in a bare local number only spaces and dashes: `1000、2000` is two sums
_EDGE_BEFORE, _EDGE_AFTER = f"(?<!{_N})", f"(?!{_N})"

_ID_NUMBER = re.compile(
    f"{_EDGE_BEFORE}(?:{_N}{{6}}{_S}{_N}{{8}}{_S}{_N}{{3}}(?:{_N}|[XxＸｘ])|{_N}{{15}}){_EDGE_AFTER}")
_MOBILE = re.compile(
    f"{_EDGE_BEFORE}(?:[+＋]?(?:86|８６){_S})?[1１一幺]{_S}[3-9３-９三四五六七八九](?:{_S}{_N}){{9}}{_EDGE_AFTER}")
_LANDLINE = re.compile(
    f"{_EDGE_BEFORE}(?:[(（][0０〇零]{_N}{{2,3}}[)）]|[0０〇零]{_N}{{2,3}}){_S}{_N}{{3,4}}{_S}{_N}{{4}}{_EDGE_AFTER}")
_LOCAL = re.compile(f"{_EDGE_BEFORE}{_N}{{3,4}}{_GAP}{_N}{{4}}{_EDGE_AFTER}")
# The numbers that find a door. Quantities stay: a date's `12月5号` follows no road, and 一栋楼, 两层,
# 三室一厅 or 第一单元 are not doors, so numerals count only where a door's shape is unmistakable.
_DOOR = re.compile("|".join((
    f"(?<=[路街巷弄道村里同区园苑院])\\s*{_D}+(?=\\s*号)",  # 东山路5号
    f"{_D}+(?=\\s*(?:栋|幢|室|楼|层))",  # 3栋, 501室, 3楼
    f"{_EDGE_BEFORE}(?<!第){_N}+(?=\\s*(?:号楼|号院|单元|[栋幢]\\s*{_N}+\\s*(?:单元|室)))",  # 8号楼, 二单元, 六栋二单元
    f"(?<=单元)\\s*{_N}{{3,4}}{_EDGE_AFTER}|{_EDGE_BEFORE}{_N}{{3,4}}(?=\\s*室)",  # the room: 2单元401, 四零一室
    f"{_EDGE_BEFORE}{_N}{{1,3}}[-－–—]{_N}{{1,3}}[-－–—]{_N}{{3,4}}{_EDGE_AFTER}",  # 3-2-401
)))
# A cut inside a number (or its mask) drops the whole number: half a number is noise, never a clue.
_NUMBER_OR_MASK = re.compile(f"(?:{_D}|[*＊])(?:[ \\-－]?(?:{_D}|[*＊]))*")


@dataclass(frozen=True, slots=True)
class Contact:
    """What scrub reads of a person (and the masked name a group sees), from a plain row."""

    id: int
    name: str
    phone: str | None
    address: str | None

    @property
    def masked_name(self) -> str:
        return mask_name(self.name)


def _plain_digits(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_AS_DIGITS)
    return "".join(c for c in text if c.isdigit() or c in "Xx").upper()


def _mask_id(match: re.Match) -> str:
    digits = _plain_digits(match.group())
    return digits[:4] + "*" * (len(digits) - 8) + digits[-4:]


def _mask_mobile(match: re.Match) -> str:
    digits = _plain_digits(match.group())[-11:]
    return f"{digits[:3]}****{digits[-4:]}"


def _mask_landline(match: re.Match) -> str:
    digits = _plain_digits(match.group())
    area = 3 if digits[1] in "12" else 4  # 010, 02x; else 0xxx
    return f"{digits[:area]}-****{digits[-4:]}"


def _mask_local(match: re.Match) -> str:
    return "****" + _plain_digits(match.group())[-4:]


def _mask_door(match: re.Match) -> str:
    return "*"


def scrub(text: str | None, *people: Person | Contact | None) -> str:
    """The text with these people's phone, address and full name masked, and every phone or ID
    number in it masked (`139****2222`)."""
    text = text or ""
    for person in filter(None, people):
        for secret, shown in ((person.phone, "（电话）"), (person.address, "（地址）"),
                              (person.name, person.masked_name)):
            if secret and len(secret) > 1:
                text = text.replace(secret, shown)
    for pattern, mask in ((_ID_NUMBER, _mask_id), (_MOBILE, _mask_mobile),
                          (_LANDLINE, _mask_landline), (_LOCAL, _mask_local), (_DOOR, _mask_door)):
        text = pattern.sub(mask, text)
    return text


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, on one line, with `…` where it was cut."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = limit - 1
    for number in _NUMBER_OR_MASK.finditer(text):
        if number.start() < cut < number.end():
            cut = number.start()
            break
    return text[:cut].rstrip() + "…"


def brief(text: str | None, limit: int, *people: Person | Contact | None) -> str:
    """Scrubbed, then shortened — never the other way round."""
    return shorten(scrub(text, *people), limit)
