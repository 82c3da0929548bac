"""A wish's timeline as people read it: when, who, through which channel, before and after."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Wish, WishEvent, local_time
from models.wish import STATUS_LABELS


def events_of(session: Session, wish: Wish) -> list[WishEvent]:
    return list(session.scalars(select(WishEvent).where(WishEvent.wish_id == wish.id).order_by(WishEvent.id)))


def change(event: WishEvent) -> str | None:
    """`待审核→待认领` when the status changed."""
    if event.before == event.after:
        return None
    after = STATUS_LABELS.get(event.after, event.after)
    return f"{STATUS_LABELS.get(event.before, event.before)}→{after}" if event.before else after


def event_line(event: WishEvent) -> str:
    who = event.actor.name if event.actor else "系统"
    details = "，".join(filter(None, [change(event), event.note]))
    return (f"· {local_time(event.created_at):%m-%d %H:%M} {who}（{event.channel_label}）{event.label}"
            + (f"：{details}" if details else ""))
