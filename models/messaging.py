"""What crosses the chat boundary: processed deliveries, the notice outbox, API tokens."""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, Timestamped

NOTICE_PENDING = "pending"
NOTICE_SENDING = "sending"  # leased by a worker until `lease_until`; pending again after that
NOTICE_SENT = "sent"
NOTICE_FAILED = "failed"


class ProcessedMessage(Timestamped, Base):
    """One row per WeChat delivery; a retried delivery hits the unique key and gets `reply`."""

    __tablename__ = "processed_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128), unique=True)
    sender: Mapped[str] = mapped_column(String(64))
    text: Mapped[Optional[str]] = mapped_column(Text)
    reply: Mapped[Optional[str]] = mapped_column(Text)

    # Replies hold contact details: rows older than WISHBOT_RETENTION_DAYS are purged by age.
    __table_args__ = (Index("ix_processed_message_created_at", "created_at"),)


class Notice(Timestamped, Base):
    """The outbox: one message to one recipient, written in the transaction of the change.

    channel: "robot" (target = a group robot URL or key), "official" (target = an OpenID),
    "wecom" (target = a WeCom UserID) or "log" (no destination configured: shown in the log).
    """

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_created_at", "created_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    event: Mapped[str] = mapped_column(String(32))
    wish_id: Mapped[Optional[int]] = mapped_column(ForeignKey("wish.id"), index=True)
    person_id: Mapped[Optional[int]] = mapped_column(ForeignKey("person.id"))
    audience: Mapped[str] = mapped_column(String(16))  # group, private, gridworkers
    channel: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(512))
    text: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=NOTICE_PENDING, index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[Optional[str]] = mapped_column(String(500))
    sent_at: Mapped[Optional[datetime]]
    lease_until: Mapped[Optional[datetime]]
    parts_sent: Mapped[int] = mapped_column(default=0, server_default="0")  # of a text split in parts
    # When a private notice cannot be delivered (45015: outside the 48-hour window), the grid
    # workers are asked to pass it on; that notice points back here.
    fallback_for_id: Mapped[Optional[int]] = mapped_column(ForeignKey("notice.id"), index=True)
    # The notice as a template message (JSON {"kind", "data"}), for when the customer-service
    # window is closed; None: a notice of a kind that has no template.
    template: Mapped[Optional[str]] = mapped_column(Text)


class ApiToken(Timestamped, Base):
    __tablename__ = "api_token"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # What the token may read (models.scope): a grid, a community, or (both unset) everything;
    # requesters' contact details only when `contacts` was granted.
    community_id: Mapped[Optional[int]] = mapped_column(ForeignKey("community.id"))
    grid_id: Mapped[Optional[int]] = mapped_column(ForeignKey("grid.id"))
    contacts: Mapped[bool] = mapped_column(default=False, server_default=sa_false())

    community: Mapped[Optional["Community"]] = relationship()
    grid: Mapped[Optional["Grid"]] = relationship()
