"""The roster (花名册): people in bulk from .csv or .xlsx, all or nothing, and back out.

Columns: openid, role, name, phone, community, grid, unit, address, wecom_userid (a person has
an Official Account OpenID, a WeCom UserID, or both). Headings may also be the
Chinese ones of the exported file. `grid` is `社区/网格`, or just the grid's name when the row
names its community.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Callable, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.cells import plain_cell
from models import BadInput, Person, UserError

from .directory import add_person, known_person

COLUMNS = ("openid", "role", "name", "phone", "community", "grid", "unit", "address", "wecom_userid")
HEADINGS = ("OpenID", "角色", "姓名", "手机号", "社区", "网格", "共建单位", "住址", "企业微信UserID")
_ALIASES = {heading: column for heading, column in zip(HEADINGS, COLUMNS)}
_ALIASES.update({"openid": "openid", "微信openid": "openid", "电话": "phone", "单位": "unit", "地址": "address",
                 "userid": "wecom_userid", "企业微信": "wecom_userid", "企业微信userid": "wecom_userid"})
MAX_ROWS = 5000


@dataclass(frozen=True)
class RowError:
    line: int  # the row's line in the file, headings being line 1
    reason: str

    def __str__(self) -> str:
        return f"第{self.line}行：{self.reason}"


class ImportFailed(UserError):
    """Nothing was imported; `errors` says why, row by row."""

    def __init__(self, errors: list[RowError]):
        self.errors = errors
        super().__init__(f"导入失败，{len(errors)}行有误，没有导入任何人：\n" + "\n".join(map(str, errors)))


def _column(heading) -> str | None:
    text = str(heading or "").strip()
    return _ALIASES.get(text) or _ALIASES.get(text.lower()) or (text.lower() if text.lower() in COLUMNS else None)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number Excel stored as a number
    return plain_cell(str(value).strip())


def read_rows(filename: str, data: bytes) -> list[dict[str, str]]:
    """The file's rows as dicts keyed by COLUMNS; BadInput when the file cannot be read."""
    if filename.lower().endswith(".xlsx"):
        table = _xlsx_table(data)
    elif filename.lower().endswith(".csv"):
        table = _csv_table(data)
    else:
        raise BadInput("只支持 .xlsx 或 .csv 文件")
    if not table:
        raise BadInput("文件是空的")
    columns = [_column(h) for h in table[0]]
    missing = {"role", "name"} - set(columns)
    if missing:
        raise BadInput(f"缺少列：{'、'.join(sorted(missing))}（列名：{', '.join(COLUMNS)}）")
    rows = [{c: _cell(v) for c, v in zip(columns, values) if c} for values in table[1:]]
    if len(rows) > MAX_ROWS:
        raise BadInput(f"一次最多导入{MAX_ROWS}行")
    return rows


def _csv_table(data: bytes) -> list[list]:
    for encoding in ("utf-8-sig", "gb18030"):  # Excel in China saves CSV as GBK
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise BadInput("文件编码无法识别，请存为 UTF-8 的 CSV")
    return [row for row in csv.reader(io.StringIO(text))]


def _xlsx_table(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a damaged file
        raise BadInput(f"无法读取这个 Excel 文件：{error.__class__.__name__}")
    sheet = book.worksheets[0]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    book.close()
    return table


def _blank(row: dict[str, str]) -> bool:
    return not any(row.values())


def _known(session: Session, row: dict[str, str]) -> Person | None:
    return known_person(session, row.get("openid") or None, row.get("wecom_userid") or None)


def import_people(session: Session, rows: Iterable[dict[str, str]],
                  check: Callable[[Person], None] | None = None) -> list[Person]:
    """Add every row or none: raises ImportFailed listing each bad row. `check` may refuse a
    person (e.g. outside a dashboard login's scope) by raising a UserError; it sees a person
    already known by the row's OpenID as they were, and every person as the row leaves them."""
    people, errors = [], []
    for line, row in enumerate(rows, start=2):
        if _blank(row):
            continue
        grid = row.get("grid") or None
        if grid and "/" not in grid and row.get("community"):
            grid = f"{row['community']}/{grid}"
        try:
            # Each row in its own savepoint, so a bad row leaves nothing behind while the
            # rest are still checked and reported.
            with session.begin_nested():
                if check is not None and (known := _known(session, row)) is not None:
                    check(known)
                person = add_person(
                    session, row.get("openid") or None, row.get("role", ""), row.get("name", ""),
                    phone=row.get("phone") or None, community=row.get("community") or None, grid=grid,
                    unit=row.get("unit") or None, address=row.get("address") or None,
                    wecom_userid=row.get("wecom_userid") or None)
                if check is not None:
                    check(person)
            people.append(person)
        except UserError as error:
            errors.append(RowError(line, error.reply))
    if errors:
        raise ImportFailed(errors)
    if not people:
        raise BadInput("文件里没有人员数据")
    return people


def export_rows(session: Session, query=None) -> list[list[str]]:
    """One row per person and role, in COLUMNS order, so the file imports back as it was."""
    query = query if query is not None else select(Person)
    people = session.scalars(query.options(selectinload(Person.community), selectinload(Person.grid),
                                           selectinload(Person.unit)).order_by(Person.id))
    rows = []
    for person in people:
        for role in sorted(person.role_set):
            rows.append([person.openid or "", role, person.name, person.phone or "",
                         person.community.name if person.community else "",
                         person.grid.label if person.grid else "",
                         person.unit.name if person.unit else "", person.address or "",
                         person.wecom_userid or ""])
    return rows
