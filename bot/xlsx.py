"""Writing .xlsx for sheets of any length: each sheet's XML goes row by row straight into the
zip (strings inline, no shared-string table to hold), so memory stays flat and a row costs a
string join. Text is always text: "=1+2" from a resident never becomes a formula, "0012" never a
number."""
from __future__ import annotations

import math
import os
import re
import zipfile
from decimal import Decimal
from typing import IO, Iterable
from xml.sax.saxutils import escape, quoteattr

_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0
_BAD_TITLE = re.compile(r"[\[\]:*?/\\]")
ROWS_PER_WRITE = 1000
HEADING, WRAPPED = 1, 2  # indexes into STYLES' cellXfs

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
STYLES = _HEAD + f"""<styleSheet xmlns="{_MAIN}">\
<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>\
<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>\
<fills count="3"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>\
<fill><patternFill patternType="solid"><fgColor rgb="FFFCE4D6"/><bgColor indexed="64"/></patternFill></fill></fills>\
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>\
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>\
<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>\
<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1" applyAlignment="1">\
<alignment horizontal="center" vertical="center"/></xf>\
<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0" applyAlignment="1">\
<alignment vertical="top" wrapText="1"/></xf></cellXfs>\
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"""


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _string(ref: str, style: str, value: str) -> str:
    if _ILLEGAL.search(value):
        value = _ILLEGAL.sub("", value)
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f'<c r="{ref}"{style} t="inlineStr"><is><t{space}>{escape(value)}</t></is></c>'


def _cell(ref: str, style: str, value) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        return _string(ref, style, value)
    if isinstance(value, bool):
        return f'<c r="{ref}"{style} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (int, Decimal)) or (isinstance(value, float) and math.isfinite(value)):
        return f'<c r="{ref}"{style}><v>{value}</v></c>'
    return _string(ref, style, str(value))


def _columns(widths, wrapped: set[int]) -> str:
    wrap = f' style="{WRAPPED}"'
    cols = "".join(f'<col min="{i}" max="{i}" width="{width}" customWidth="1"{wrap if i - 1 in wrapped else ""}/>'
                   for i, width in enumerate(widths, start=1))
    return f"<cols>{cols}</cols>" if cols else ""


def _sheet_xml(out: IO[bytes], headings, rows: Iterable, widths, wrapped: set[int]) -> None:
    """The heading row styled and frozen, the columns' widths (wrapped ones wrap), then the rows."""
    letters = [column_letter(i) for i in range(max(len(headings), 1))]
    out.write((_HEAD + f'<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}"><sheetViews><sheetView workbookViewId="0">'
               '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
               '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
               '<sheetFormatPr defaultRowHeight="15"/>'
               + _columns(widths or [14] * len(headings), wrapped) + "<sheetData>").encode())
    heading = f' s="{HEADING}"'
    buffer = ['<row r="1">' + "".join(_cell(f"{letters[c]}1", heading, h) for c, h in enumerate(headings)) + "</row>"]
    styles = {c: f' s="{WRAPPED}"' for c in wrapped}
    for number, row in enumerate(rows, start=2):
        while len(row) > len(letters):
            letters.append(column_letter(len(letters)))
        line = str(number)
        buffer.append(f'<row r="{line}">'
                      + "".join([_cell(letters[c] + line, styles.get(c, ""), value) for c, value in enumerate(row)])
                      + "</row>")
        if len(buffer) >= ROWS_PER_WRITE:
            out.write("".join(buffer).encode())
            buffer.clear()
    buffer.append("</sheetData></worksheet>")
    out.write("".join(buffer).encode())


def write_workbook(target: str | os.PathLike, sheets: list) -> None:
    """`sheets`: objects with title, headings, rows (any iterable, read once), widths, wrapped."""
    titles = [sheet.title for sheet in sheets]
    for title in titles:
        if not title or len(title) > 31 or _BAD_TITLE.search(title):
            raise ValueError(f"not a sheet name: {title!r}")
    n = len(sheets)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", _HEAD + (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                      'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
                      for i in range(1, n + 1))
            + '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'))
        book.writestr("_rels/.rels", _HEAD + (
            f'<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
            'Target="xl/workbook.xml"/></Relationships>'))
        book.writestr("xl/workbook.xml", _HEAD + (
            f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            + "".join(f'<sheet name={quoteattr(title)} sheetId="{i}" r:id="rId{i}"/>'
                      for i, title in enumerate(titles, start=1))
            + "</sheets></workbook>"))
        book.writestr("xl/_rels/workbook.xml.rels", _HEAD + (
            f'<Relationships xmlns="{_PKG_REL}">'
            + "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                      for i in range(1, n + 1))
            + f'<Relationship Id="rId{n + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'))
        book.writestr("xl/styles.xml", STYLES)
        for i, sheet in enumerate(sheets, start=1):
            with book.open(f"xl/worksheets/sheet{i}.xml", "w", force_zip64=True) as out:
                _sheet_xml(out, sheet.headings, sheet.rows, sheet.widths, sheet.wrapped)
