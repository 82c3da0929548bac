"""What a handler gets: the open session, the sender, and the ways to record effects."""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.inbound import Inbound
from bot.text import parse_number
from models import BadInput, NotFound, Notice, Person, Wish, WishEvent
from models.wish import NOTE_LIMIT


@dataclass
class Context:
    session: Session
    person: Person
    channel: str = "wechat"
    inbound: Inbound | None = None
    notices: list[Notice] = field(default_factory=list)
    jobs: list[tuple[str, int]] = field(default_factory=list)  # (job name, id), run after commit
    points_per_hour: float = 1.0  # WISHBOT_POINTS_PER_HOUR

    def wish(self, number: int, *, for_update: bool = False, load: tuple = ()) -> Wish:
        """The wish numbered `number`; `load`: loader options for what the caller will read of it."""
        query = select(Wish).where(Wish.id == number).options(*load)
        if for_update:
            query = query.with_for_update()
        wish = self.session.scalar(query)
        if wish is None:
            raise NotFound(f"没有找到心愿 #{number}。")
        return wish

    def wish_from(self, token: str, usage: str, *, for_update: bool = False, load: tuple = ()) -> Wish:
        number = parse_number(token)
        if number is None:
            raise BadInput(f"请这样写：{usage}")
        return self.wish(number, for_update=for_update, load=load)

    def log(self, wish: Wish, action: str, before: str | None, note: str | None = None) -> None:
        """Add a line to the wish's timeline (who, when, which channel, before and after)."""
        self.session.add(
            WishEvent(
                wish_id=wish.id, actor_id=self.person.id, channel=self.channel,
                action=action, before=before, after=wish.status,
                note=note[:NOTE_LIMIT] if note else None,  # the full text stays on the wish
            )
        )

    def run_after_commit(self, job: str, row_id: int) -> None:
        """Ask for a job (a function of worker.py taking this id) once the transaction commits."""
        self.jobs.append((job, row_id))

    def change_claim(self, wish: Wish, action: str, rule, announce, note: str | None = None):
        """Apply a claim rule of the wish (claim_by, release, complete_by), put it on the
        timeline and queue its notices; returns the claim."""
        before = wish.status
        claim = rule()
        self.session.flush()
        self.log(wish, action, before, note)
        self.notify(announce(self.session, wish, claim))
        return claim

    def notify(self, notices: list[Notice]) -> None:
        """Queue outbox rows in this transaction; they are handed to the jobs after commit."""
        self.session.add_all(notices)
        self.notices.extend(notices)
