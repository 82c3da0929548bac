"""Retention: processed-message records hold the replies we sent, and replies hold contact
details (查询 shows them to staff and claimers). They are kept only as long as a retried
delivery could arrive — far less than the default 30 days (WISHBOT_RETENTION_DAYS) — and then
removed, by the clock every hour and by `wishbot purge [--days N]`."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete

from models import ProcessedMessage, utcnow

from .db import Database


def purge_processed(db: Database, days: int, now: datetime | None = None) -> int:
    """Delete the records older than `days` days; returns how many went."""
    if days < 1:
        raise ValueError("the retention period is at least one day")
    cutoff = (now or utcnow()) - timedelta(days=days)
    with db.transaction() as session:
        result = session.execute(delete(ProcessedMessage).where(ProcessedMessage.created_at < cutoff))
        return result.rowcount or 0
