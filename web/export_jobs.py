"""Large exports as jobs: the request records what to export and returns at once; a job (RQ with
Redis, a thread of its own in the embedded default) writes the file, counting rows as it goes;
the page shows how far it has got and, when done, a download link for the login that asked."""
from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict
from pathlib import Path

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.db import Database
from models import ExportJob, utcnow
from models.exports import EXPORT_DONE, EXPORT_FAILED, EXPORT_QUEUED, EXPORT_RUNNING
from models.scope import Scope

from .ledger import LedgerFilter
from .ledger_rows import LEDGER_HEADINGS, ledger_rows, ledger_sheet
from .sheets import csv_chunks, write_xlsx

log = logging.getLogger(__name__)
KINDS = ("ledger.xlsx", "ledger.csv")
INLINE_ROWS = 5000  # up to this many rows the request writes the file itself


def new_job(session: Session, staff_user_id: int, kind: str, scope: Scope, flt: LedgerFilter, rows: int) -> ExportJob:
    params = {"scope": asdict(scope), "filter": flt.as_args()}
    job = ExportJob(staff_user_id=staff_user_id, kind=kind, params=json.dumps(params), status=EXPORT_QUEUED,
                    rows_total=rows, rows_done=0)
    session.add(job)
    session.flush()
    return job


def file_path(directory: Path, job: ExportJob) -> Path:
    return directory / job.filename


def _set(db: Database, job_id: int, **values) -> None:
    with db.transaction() as session:
        session.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))


def run_export(db: Database, directory: Path, job_id: int) -> None:
    """Write the job's file. A failure is recorded on the row and raised, so a runner may retry."""
    with db.reads() as session:
        job = session.get(ExportJob, job_id)
        if job is None or job.status == EXPORT_DONE:
            return
        kind, params = job.kind, json.loads(job.params)
    scope, flt = Scope(**params["scope"]), LedgerFilter.from_args(params["filter"])
    directory.mkdir(parents=True, exist_ok=True)
    filename = f"export-{job_id}.{kind.rsplit('.', 1)[1]}"
    path, partial = directory / filename, directory / f"{filename}.part"
    _set(db, job_id, status=EXPORT_RUNNING, rows_done=0, error=None)
    rows = ledger_rows(db.reads, scope, flt, progress=lambda n: _set(db, job_id, rows_done=n))
    try:
        if kind == "ledger.xlsx":
            write_xlsx(partial, [ledger_sheet(rows)])
        else:
            with open(partial, "wb") as out:
                for chunk in csv_chunks(LEDGER_HEADINGS, rows):
                    out.write(chunk)
        os.replace(partial, path)
    except Exception as error:
        partial.unlink(missing_ok=True)
        _set(db, job_id, status=EXPORT_FAILED, error=str(error)[:500])
        log.exception("export %s failed", job_id)
        raise
    _set(db, job_id, status=EXPORT_DONE, filename=filename, finished_at=utcnow())
