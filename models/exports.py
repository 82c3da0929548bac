"""A large export made in the background: who asked, what, how far it has got, and the file."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, Timestamped

EXPORT_QUEUED = "queued"
EXPORT_RUNNING = "running"
EXPORT_DONE = "done"
EXPORT_FAILED = "failed"


class ExportJob(Timestamped, Base):
    __tablename__ = "export_job"
    id: Mapped[int] = mapped_column(primary_key=True)
    # Only this login may see the job and download its file.
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # ledger.xlsx, ledger.csv
    # The scope and the ledger filter as they were when asked, as JSON.
    params: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EXPORT_QUEUED)
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_done: Mapped[int] = mapped_column(default=0)
    filename: Mapped[Optional[str]] = mapped_column(String(128))  # under the export directory
    error: Mapped[Optional[str]] = mapped_column(String(500))
    finished_at: Mapped[Optional[datetime]]

    @property
    def percent(self) -> int:
        if self.status == EXPORT_DONE:
            return 100
        return min(99, self.rows_done * 100 // self.rows_total) if self.rows_total else 0
