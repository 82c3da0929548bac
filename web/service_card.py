"""The service card (双报到服务卡) and certificate layouts: one .xlsx sheet per card with a
summary sheet per partner unit, and the printable A4 pages (templates/service/). Used by the
dashboard and by `wishbot report service-card`."""
from __future__ import annotations

import re
from pathlib import Path

from flask import render_template
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, Side
from openpyxl.utils import get_column_letter

from handlers.service_records import Card, Span, UnitSummary, number_text

from .exports import add_sheet, append_row, xlsx_bytes

CARD_HEADINGS = ("序号", "服务日期", "心愿编号", "服务内容", "工时（小时）", "核实人")
CARD_WIDTHS = (6, 12, 10, 36, 12, 12)
SUMMARY_HEADINGS = ("共建单位", "人数", "服务次数", "已核实工时", "积分", "待核实工时")
SIGNATURE = "社区（盖章）：                经办人签字：                日期：    年  月  日"
PRINT_CSS = Path(__file__).resolve().parent / "static" / "print.css"
_SHEET_UNSAFE = re.compile(r"[\[\]:*?/\\]")


def card_title(card: Card) -> str:
    return f"{card.community} 双报到服务卡"


def _sheet_name(card: Card, taken: set[str]) -> str:
    base = _SHEET_UNSAFE.sub("", card.name)[:24] or "志愿者"
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}({n})"
    taken.add(name)
    return name


def _card_sheet(book: Workbook, title: str, card: Card, span: Span, per_hour: float) -> None:
    sheet = book.create_sheet(title)
    sheet.append([card_title(card)])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(CARD_HEADINGS))
    sheet.append([span.label])
    for label, value in (("姓名", card.name), ("单位", card.unit), ("社区", card.community)):
        append_row(sheet, [label, value])
    sheet.append([])
    sheet.append(list(CARD_HEADINGS))
    heading_row = sheet.max_row
    thin = Side(style="thin")
    for i, service in enumerate(card.services, start=1):
        append_row(sheet, [i, service.day.isoformat(), service.wish_ref, service.content,
                           service.hours if service.hours is not None else "未填",
                           service.verified_by or "待核实"])
    for row in sheet.iter_rows(min_row=heading_row, max_row=sheet.max_row, max_col=len(CARD_HEADINGS)):
        for cell in row:
            cell.border = Border(top=thin, bottom=thin, left=thin, right=thin)
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    for cell in sheet[heading_row]:
        cell.font = Font(bold=True)
    sheet.append([])
    sheet.append(["已核实工时", card.verified_hours, "积分", card.points(per_hour)])
    sheet.append(["待核实工时", card.reported_hours, "（许愿人或网格员确认后计入）"])
    sheet.append([])
    sheet.append([SIGNATURE])
    for i, width in enumerate(CARD_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1


def summary_rows(summaries: list[UnitSummary], per_hour: float) -> list[list]:
    return [[s.unit, s.members, s.services, s.verified_hours, round(s.verified_hours * per_hour, 2), s.reported_hours]
            for s in summaries]


def cards_workbook(cards: list[Card], summaries: list[UnitSummary], span: Span, per_hour: float) -> bytes:
    """A summary sheet (one row per partner unit), then one sheet per card."""
    book = Workbook()
    add_sheet(book, "单位汇总", SUMMARY_HEADINGS, summary_rows(summaries, per_hour), [28, 8, 10, 12, 10, 12])
    taken = {"单位汇总"}
    for card in cards:
        _card_sheet(book, _sheet_name(card, taken), card, span, per_hour)
    return xlsx_bytes(book)


def cards_page(summaries: list[UnitSummary], span: Span, per_hour: float, *, standalone: bool = False) -> str:
    """The printable page: per unit its summary, then each member's card, one per A4 page.
    `standalone` puts the stylesheet inside (a file written by the CLI has no server)."""
    return render_template("service/cards.html", summaries=summaries, span=span, per_hour=per_hour,
                           number=number_text,
                           inline_css=PRINT_CSS.read_text() if standalone else None)
