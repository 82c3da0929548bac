"""Exports: the ledger as .xlsx in the 台账 layout and as .csv, and the monthly report.
Every export goes through the login's Scope, like the pages. Files are written a row at a
time; a large ledger export runs as a job (web/export_jobs.py) with a page that shows its progress."""
from __future__ import annotations

import io
from datetime import datetime

from flask import Blueprint, Response, abort, g, redirect, render_template, request, stream_with_context, url_for
from openpyxl import Workbook
from openpyxl.cell import Cell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from bot.figures import parse_month
from handlers.service_figures import service_figures
from models import ExportJob, local_time
from models.exports import EXPORT_DONE
from models.wish import STAGES

from . import export_jobs
from .auth import login_required
from .common import db, runtime
from .figures import duration, scoped_figures
from .ledger import LedgerFilter
from .ledger_rows import LEDGER_HEADINGS, count_rows, ledger_rows, ledger_sheet
from .sheets import CSV, XLSX, Sheet, attachment, csv_response, send_file_chunks, xlsx_response

exports = Blueprint("exports", __name__, url_prefix="/admin/export")
JOB_NAMES = {"ledger.xlsx": "微心愿台账.xlsx", "ledger.csv": "微心愿台账.csv"}


def today_stamp() -> str:
    return local_time(datetime.now().astimezone()).strftime("%Y%m%d")


def _ledger(kind: str):
    """Small exports are written in the request; large ones become a job and a progress page."""
    flt = LedgerFilter.from_args(request.args)
    total = count_rows(db(), g.scope, flt)
    if total > export_jobs.INLINE_ROWS:
        job = export_jobs.new_job(db(), g.staff.id, kind, g.scope, flt, total)
        db().commit()
        runtime().start_export(job.id)
        return redirect(url_for("exports.job_page", number=job.id))
    db().commit()  # the rows are read in sessions of their own; this one's transaction ends here
    rows = ledger_rows(runtime().db.reads, g.scope, flt)
    filename = f"微心愿台账-{today_stamp()}.{kind.rsplit('.', 1)[1]}"
    if kind == "ledger.csv":
        return csv_response(LEDGER_HEADINGS, stream_with_context(rows), filename)
    return xlsx_response([ledger_sheet(rows)], filename)


# Small formatted workbooks (the service card) are built with openpyxl; large ones with
# web/sheets.py. Text that looks like a formula stays text in both.


def download(body: bytes, filename: str, mimetype: str) -> Response:
    return Response(body, mimetype=mimetype, headers=attachment(filename))


def append_row(sheet, row) -> None:
    """Append as cells made here, so a formula-looking text is set to text without looking the
    row up again (`sheet[sheet.max_row]` scans every cell so far: quadratic)."""
    cells = []
    for value in row:
        cell = Cell(sheet, value=value)
        if cell.data_type == "f":  # openpyxl took text starting with "=" for a formula
            cell.data_type = "s"
        cells.append(cell)
    sheet.append(cells)


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


def xlsx_bytes(book: Workbook) -> bytes:
    book.remove(book.worksheets[0])  # the default empty sheet
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@exports.get("/ledger.xlsx")
@login_required
def ledger_xlsx():
    return _ledger("ledger.xlsx")


@exports.get("/ledger.csv")
@login_required
def ledger_csv():
    return _ledger("ledger.csv")


def _own_job(number: int) -> ExportJob:
    """Another login's job is a 404: not even its existence shows."""
    job = db().get(ExportJob, number)
    if job is None or job.staff_user_id != g.staff.id:
        abort(404)
    return job


@exports.get("/jobs/<id:number>")
@login_required
def job_page(number: int):
    return render_template("admin/export_job.html", job=_own_job(number), name=JOB_NAMES)


@exports.get("/jobs/<id:number>/download")
@login_required
def job_download(number: int):
    job = _own_job(number)
    if job.status != EXPORT_DONE:
        abort(404)
    path = export_jobs.file_path(runtime().export_directory, job)
    if not path.exists():
        abort(404)
    stamp = local_time(job.created_at).strftime("%Y%m%d")
    kind = job.kind.rsplit(".", 1)[1]
    return send_file_chunks(path, f"微心愿台账-{stamp}.{kind}", XLSX if kind == "xlsx" else CSV)


@exports.get("/report.xlsx")
@login_required
def report_xlsx():
    now = local_time(datetime.now().astimezone())
    month = parse_month(request.args.get("month")) or now.strftime("%Y-%m")
    f = scoped_figures(month, now)
    stage_headings = [heading for _, heading, _ in STAGES]
    hours = service_figures(db(), g.scope.wishes, month, f.months, runtime().settings.points_per_hour)
    return xlsx_response([
        Sheet("月度汇总", ["月份", *stage_headings],
              [[m, *(f.monthly_for(m)[key] for key, _, _ in STAGES)] for m in f.months]),
        Sheet(f"{month}分区域", ["层级", "名称", *stage_headings],
              [[r.level, r.name, *(r.counts[key] for key, _, _ in STAGES)] for r in f.areas], [8, 28]),
        Sheet("共建单位", ["共建单位", "认领数", "完成数"], f.units, [28, 10, 10]),
        Sheet("荣誉榜", ["名次", "姓名", "单位", "完成心愿数"],
              [[i, *row] for i, row in enumerate(f.members, start=1)], [8, 12, 28, 12]),
        Sheet("服务时长榜", ["名次", "姓名", "单位", "服务次数", "已核实工时", "积分"],
              [[i, r.name, r.unit, r.services, r.hours, r.points] for i, r in enumerate(hours.members, start=1)],
              [8, 12, 28, 10, 12, 10]),
        Sheet("单位工时", ["共建单位", "人数", "服务次数", "已核实工时", "积分"],
              [[r.unit, r.members, r.services, r.hours, r.points] for r in hours.units], [28, 8, 10, 12, 10]),
        Sheet("各社区月度工时", ["社区", *hours.monthly.months],
              [[c, *hours.monthly.row(c)] for c in hours.monthly.communities], [16]),
        Sheet("类别", ["类别", "心愿数"], f.categories, [16, 10]),
        Sheet("办理时长", ["指标", "中位数"], [
            ["发布到认领", duration(f.median_claim_hours)], ["认领到完成", duration(f.median_complete_hours)],
        ], [16, 14]),
    ], f"微心愿月报-{month}.xlsx")
