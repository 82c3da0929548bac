"""Exports: the ledger as .xlsx in the 台账 layout and as .csv, and the monthly report.
Every export goes through the login's Scope, like the pages."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from urllib.parse import quote

from flask import Blueprint, Response, g, request
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.cells import csv_cell
from handlers.service_figures import service_figures
from models import Wish, local_time
from models.wish import RELEASED, STAGES

from .auth import login_required
from .common import db, format_time, runtime
from .figures import compute, duration, parse_month, scoped_wishes
from .ledger import LedgerFilter, wishes_query

exports = Blueprint("exports", __name__, url_prefix="/admin/export")

LEDGER_HEADINGS = ("序号", "心愿编号", "许愿人", "网格", "类别", "心愿内容", "认领人", "认领单位", "状态",
                   "认领时间", "完成时间", "确认时间")
LEDGER_WIDTHS = (6, 10, 10, 22, 10, 40, 16, 20, 14, 17, 17, 17)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

def ledger_row(index: int, wish: Wish, scope) -> list:
    claims = [c for c in wish.claims if c.status != RELEASED]
    # The scope filter already keeps other areas' wishes out; this keeps the rule explicit.
    requester = wish.requester.name if scope.covers(wish) else wish.requester.masked_name
    return [
        index, wish.ref, requester, wish.grid.label if wish.grid else wish.community.name,
        wish.category or "", wish.content,
        "、".join(c.member.name for c in claims),
        "、".join(dict.fromkeys(c.member.unit.name for c in claims if c.member.unit)),
        wish.status_label,
        format_time(min((c.created_at for c in claims), default=None)),
        format_time(wish.completed_at), format_time(wish.confirmed_at),
    ]


def ledger_rows() -> list[list]:
    wishes = db().scalars(wishes_query(LedgerFilter.from_args(request.args))).all()
    return [ledger_row(i, wish, g.scope) for i, wish in enumerate(reversed(wishes), start=1)]


def today_stamp() -> str:
    return local_time(datetime.now().astimezone()).strftime("%Y%m%d")


def download(body: bytes, filename: str, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store",
    })


def append_row(sheet, row) -> None:
    sheet.append(list(row))
    for cell in sheet[sheet.max_row]:
        if cell.data_type == "f":  # openpyxl took text starting with "=" for a formula
            cell.data_type = "s"


def add_sheet(book: Workbook, title: str, headings, rows, widths=None):
    sheet = book.create_sheet(title)
    sheet.append(list(headings))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="FCE4D6")
        cell.alignment = Alignment(horizontal="center", vertical="center")
    for row in rows:
        append_row(sheet, row)
    for i, width in enumerate(widths or [14] * len(headings), start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    return sheet


def csv_download(headings, rows, filename: str) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headings)
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    # The BOM makes Excel read the file as UTF-8 instead of mangling the Chinese.
    return download(("\ufeff" + buffer.getvalue()).encode("utf-8"), filename, "text/csv; charset=utf-8")


def xlsx_bytes(book: Workbook) -> bytes:
    book.remove(book.worksheets[0])  # the default empty sheet
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@exports.get("/ledger.xlsx")
@login_required
def ledger_xlsx():
    book = Workbook()
    sheet = add_sheet(book, "微心愿台账", LEDGER_HEADINGS, ledger_rows(), LEDGER_WIDTHS)
    for row in sheet.iter_rows(min_row=2, min_col=6, max_col=6):
        row[0].alignment = Alignment(wrap_text=True, vertical="top")
    return download(xlsx_bytes(book), f"微心愿台账-{today_stamp()}.xlsx", XLSX)


@exports.get("/ledger.csv")
@login_required
def ledger_csv():
    return csv_download(LEDGER_HEADINGS, ledger_rows(), f"微心愿台账-{today_stamp()}.csv")


@exports.get("/report.xlsx")
@login_required
def report_xlsx():
    now = local_time(datetime.now().astimezone())
    month = parse_month(request.args.get("month")) or now.strftime("%Y-%m")
    f = compute(scoped_wishes(), month, now)
    stage_headings = [heading for _, heading, _ in STAGES]
    book = Workbook()
    add_sheet(book, "月度汇总", ["月份", *stage_headings],
           [[m, *(f.monthly_for(m)[key] for key, _, _ in STAGES)] for m in f.months])
    add_sheet(book, f"{month}分区域", ["层级", "名称", *stage_headings],
           [[r.level, r.name, *(r.counts[key] for key, _, _ in STAGES)] for r in f.areas], [8, 28])
    add_sheet(book, "共建单位", ["共建单位", "认领数", "完成数"], f.units, [28, 10, 10])
    add_sheet(book, "荣誉榜", ["名次", "姓名", "单位", "完成心愿数"],
           [[i, *row] for i, row in enumerate(f.members, start=1)], [8, 12, 28, 12])
    hours = service_figures(db(), g.scope.wishes, month, f.months, runtime().settings.points_per_hour)
    add_sheet(book, "服务时长榜", ["名次", "姓名", "单位", "服务次数", "已核实工时", "积分"],
              [[i, r.name, r.unit, r.services, r.hours, r.points] for i, r in enumerate(hours.members, start=1)],
              [8, 12, 28, 10, 12, 10])
    add_sheet(book, "单位工时", ["共建单位", "人数", "服务次数", "已核实工时", "积分"],
              [[r.unit, r.members, r.services, r.hours, r.points] for r in hours.units], [28, 8, 10, 12, 10])
    add_sheet(book, "各社区月度工时", ["社区", *hours.monthly.months],
              [[c, *hours.monthly.row(c)] for c in hours.monthly.communities], [16])
    add_sheet(book, "类别", ["类别", "心愿数"], f.categories, [16, 10])
    add_sheet(book, "办理时长", ["指标", "中位数"], [
        ["发布到认领", duration(f.median_claim_hours)], ["认领到完成", duration(f.median_complete_hours)],
    ], [16, 14])
    return download(xlsx_bytes(book), f"微心愿月报-{month}.xlsx", XLSX)
