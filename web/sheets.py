"""Writing .xlsx and .csv one row at a time, so memory stays flat whatever the size: .xlsx by
bot/xlsx.py (each row's XML straight into the zip), CSV in chunks of encoded text."""
from __future__ import annotations

import csv
import io
import os
import tempfile
from dataclasses import dataclass, field
from typing import IO, Iterable, Iterator
from urllib.parse import quote

from flask import Response

from bot.cells import csv_cell
from bot.xlsx import write_workbook

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"
CSV_CHUNK_ROWS = 1000


@dataclass
class Sheet:
    title: str
    headings: list | tuple
    rows: Iterable[list]
    widths: list | tuple | None = None
    wrapped: set[int] = field(default_factory=set)  # columns (0-based) whose text wraps


def write_xlsx(target: str | os.PathLike, sheets: Iterable[Sheet]) -> None:
    write_workbook(target, list(sheets))


def csv_chunks(headings, rows: Iterable[list]) -> Iterator[bytes]:
    """The CSV as UTF-8 with a BOM (so Excel reads the Chinese), a chunk of rows at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(headings)
    for number, row in enumerate(rows, start=1):
        writer.writerow([csv_cell(value) for value in row])
        if number % CSV_CHUNK_ROWS == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}", "Cache-Control": "no-store"}


def _chunks_of(file: IO[bytes], size: int = 1 << 16) -> Iterator[bytes]:
    with file:
        while chunk := file.read(size):
            yield chunk


def send_file_chunks(path: str | os.PathLike, filename: str, mimetype: str, remove: bool = False) -> Response:
    file = open(path, "rb")
    if remove:  # the open file stays readable; the name is gone at once
        os.unlink(path)
    return Response(_chunks_of(file), mimetype=mimetype, headers={
        **attachment(filename), "Content-Length": str(os.fstat(file.fileno()).st_size)})


def xlsx_response(sheets: Iterable[Sheet], filename: str) -> Response:
    """Write the workbook to a temporary file, then send it from there."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        write_xlsx(path, sheets)
    except BaseException:
        os.unlink(path)
        raise
    return send_file_chunks(path, filename, XLSX, remove=True)


def csv_response(headings, rows: Iterable[list], filename: str) -> Response:
    return Response(csv_chunks(headings, rows), mimetype=CSV, headers=attachment(filename))
