"""What a handler gets: the open session, the sender, and the ways to record effects."""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, Callable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from bot.inbound import Inbound
from bot.jobs import AFTER_COMMIT, checked
from bot.router import Router
from bot.settings import Settings
from bot.text import parse_number, wish_number_and_rest
from models import BadInput, NotFound, Notice, Person, Wish, WishEvent
from models.privacy import scrub, shorten
from models.scope import Scope
from models.wish import NOTE_LIMIT


@cache
def _wish_by_number(for_update: bool, load: tuple):
    """Built once per shape: building and keying a statement costs more than running it."""
    query = select(Wish).where(Wish.id == bindparam("number")).options(*load)
    # Only the wish's row: what `load` joins in is read, never locked (PostgreSQL also refuses to
    # lock the nullable side of an outer join).
    return query.with_for_update(of=Wish) if for_update else query


@dataclass
class Context:
    session: Session
    person: Person | None  # None: the system (Context.system)
    channel: str = "wechat"
    inbound: Inbound | None = None
    router: Router | None = None  # the commands the message was routed by (chat only)
    notices: list[Notice] = field(default_factory=list)
    jobs: list[tuple[str, int]] = field(default_factory=list)  # (job name, id), run after commit
    points_per_hour: float = 1.0  # WISHBOT_POINTS_PER_HOUR
    settings: Settings | None = None  # the running configuration, when a conversation has one
    # What the actor may see and do: the chat person's, or the dashboard login's when given.
    scope: Scope | None = None

    def __post_init__(self) -> None:
        if self.scope is None:  # the system (no person) acts on nobody's behalf: no area
            self.scope = Scope.of_person(self.person) if self.person is not None else Scope()

    def setting(self, name: str):
        """A setting of the running configuration, else its declared default."""
        return getattr(self.settings if self.settings is not None else Settings, name)

    def wish(self, number: int, *, for_update: bool = False, load: tuple = ()) -> Wish:
        """The wish numbered `number`; `load`: loader options for what the caller will read of it."""
        # unique(): a joined collection in `load` repeats the wish on each of its rows
        wish = self.session.scalars(_wish_by_number(for_update, load), {"number": number}).unique().first()
        if wish is None:
            raise NotFound(f"没有找到心愿 #{number}。")
        return wish

    def wish_from(self, token: str, usage: str, *, for_update: bool = False, load: tuple = ()) -> Wish:
        """The wish a whole-token number names (`12`, `#12`, `十二`); else the usage example."""
        number = parse_number(token)
        if number is None:
            raise BadInput(f"请这样写：{usage}")
        return self.wish(number, for_update=for_update, load=load)

    def wish_text(self, wish: Wish, limit: int | None = None) -> str:
        """The wish's text as this actor may read it: as written for its requester, its area's
        staff and its active claimers; scrubbed for everyone else — before any shortening."""
        text = wish.content if self.scope.may_see_contact(wish) else scrub(wish.content, wish.requester)
        return shorten(text, limit) if limit else text

    def only_wish(self, args: str, usage: str, *, for_update: bool = False, load: tuple = ()) -> Wish:
        """For commands that take a wish number and nothing else: `认领 21 6` names no wish, while
        `认领第21号心愿，谢谢` names #21."""
        token, rest = wish_number_and_rest(args)
        if rest:
            raise BadInput(f"请这样写：{usage}")
        return self.wish_from(token, usage, for_update=for_update, load=load)

    @classmethod
    def system(cls, session: Session) -> "Context":
        """The clock's and delivery's context: no person acts, the timeline says 系统."""
        return cls(session=session, person=None, channel="system")

    def log(self, wish: Wish, action: str, before: str | None, note: str | None = None) -> None:
        """Add a line to the wish's timeline (who, when, which channel, before and after)."""
        self.session.add(
            WishEvent(
                wish_id=wish.id, actor_id=self.person.id if self.person else None, channel=self.channel,
                action=action, before=before, after=wish.status,
                note=note[:NOTE_LIMIT] if note else None,  # the full text stays on the wish
            )
        )

    def run_after_commit(self, job: str, row_id: int) -> None:
        """Ask for a job (one of bot.jobs.AFTER_COMMIT, taking this id) once the transaction
        commits; an unknown name fails here, inside the transaction."""
        self.jobs.append((checked(job, AFTER_COMMIT), row_id))

    def change(self, wish: Wish, action: str, rule: Callable[[], Any] | None = None,
               announce: Callable[..., list[Notice]] | None = None,
               note: str | Callable[[], str] | None = None, *, new: bool = False):
        """The one way a wish changes: run its rule (a public method of the model), put the
        change on the timeline (`new`: the wish was just made, it had no state before), and
        queue the notices `announce(session, wish)` writes — `announce(session, wish, claim)`
        when the rule returns the claim it changed. A callable `note` is read after the rule.
        Returns what the rule returned."""
        before = None if new else wish.status
        result = rule() if rule is not None else None
        self.log(wish, action, before, note() if callable(note) else note)
        if announce is not None:
            extra = () if result is None else (result,)
            self.notify(announce(self.session, wish, *extra))
        return result

    change_claim = change  # the claim rules (claim_by, release, complete_by) return the claim

    def notify(self, notices: list[Notice]) -> None:
        """Queue outbox rows in this transaction; they are handed to the jobs after commit."""
        self.session.add_all(notices)
        self.notices.extend(notices)
