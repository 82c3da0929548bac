"""Who may see and do what — the ONE authorization model.

A Scope is built from whoever acts: a chat person (`Scope.of_person`), a dashboard login
(`Scope.of_login`) or an API token (`Scope.of_token`). Chat, the dashboard, /sim, exports,
figures, 统计 and the API ask it and nothing else:

- its *area*: everything (admin), one community (community staff), one grid (grid worker), or
  none (residents, members, strangers);
- which wishes, people, registrations and notices of a query are in the area (`wishes`, ...);
- whether the actor sees the contact details of one wish (`may_see_contact`): staff of the
  wish's area, its requester, and its active claimers;
- whether the actor may manage a wish (`require_staff_of`), decide a community's registrations
  (`covers_community`), give a person a role (`may_place`: never above the actor's own), or be
  impersonated in /sim (`may_impersonate`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import ColumnElement, Select, false, or_, select, true
from sqlalchemy.orm import Session

from .directory import Community, Grid, Person, PersonFacts
from .errors import NotAllowed
from .messaging import ApiToken, Notice
from .staff import StaffUser
from .wish import Claim, Wish
from .workflow import Registration

ALL, COMMUNITY, GRID, NONE = "all", "community", "grid", "none"
AREA_LABELS = {ALL: "管理员", COMMUNITY: "社区工作人员", GRID: "网格员", NONE: "居民/志愿者"}


@dataclass(frozen=True)
class Scope:
    area: str = NONE
    community_id: int | None = None
    grid_id: int | None = None
    person_id: int | None = None  # the actor, whose own wishes and active claims they may see
    contacts: bool = True  # staff of the area see contact details (an API token only when granted)

    # --- building one ---------------------------------------------------------------------

    @classmethod
    def everything(cls) -> "Scope":
        return cls(ALL)

    @classmethod
    def of_person(cls, person: PersonFacts) -> "Scope":
        """A chat person: admins everywhere; grid workers their grid (their community when they
        have none: that is how community staff act in chat); everyone else no area."""
        if person.has_role("admin"):
            return cls(ALL, person_id=person.id)
        if person.has_role("gridworker"):
            if person.grid_id is not None:
                return cls(GRID, person.grid_community_id, person.grid_id, person.id)
            if person.community_id is not None:
                return cls(COMMUNITY, person.community_id, None, person.id)
        return cls(NONE, person_id=person.id)

    @classmethod
    def of_login(cls, staff: StaffUser) -> "Scope":
        """A dashboard login: its role, community and grid (not its person's chat roles)."""
        if staff.role == "admin":
            return cls(ALL, person_id=staff.person_id)
        if staff.role == "gridworker":
            return cls(GRID, staff.community_id, staff.grid_id, staff.person_id)
        return cls(COMMUNITY, staff.community_id, None, staff.person_id)

    @classmethod
    def of_token(cls, token: ApiToken) -> "Scope":
        """An API token: its grid, its community, or everything; contact fields only when granted."""
        if token.grid_id is not None:
            return cls(GRID, token.community_id, token.grid_id, contacts=token.contacts)
        if token.community_id is not None:
            return cls(COMMUNITY, token.community_id, contacts=token.contacts)
        return cls(ALL, contacts=token.contacts)

    # --- what it is -----------------------------------------------------------------------

    @property
    def is_admin(self) -> bool:
        return self.area == ALL

    @property
    def is_staff(self) -> bool:
        return self.area != NONE

    @property
    def label(self) -> str:
        return AREA_LABELS[self.area]

    def area_name(self, session: Session) -> str:
        """The area in words: 全部社区, a community, or a grid (`新城社区/第一网格`)."""
        if self.area == ALL:
            return "全部社区"
        if self.area == GRID and (grid := session.get(Grid, self.grid_id)) is not None:
            return grid.label
        if self.area == COMMUNITY and (community := session.get(Community, self.community_id)) is not None:
            return community.name
        return "（未登记网格）"

    def contains(self, other: "Scope") -> bool:
        """Whether `other`'s area lies within this one's (a role may be given only so far)."""
        if self.area == ALL or other.area == NONE:
            return True
        if other.area == ALL or self.area == NONE:
            return False
        if self.area == COMMUNITY:
            return other.community_id == self.community_id
        return other.area == GRID and other.grid_id == self.grid_id

    # --- rows -----------------------------------------------------------------------------

    def covers(self, wish: Wish) -> bool:
        """Whether the wish lies in the staff area."""
        if self.area == ALL:
            return True
        if self.area == GRID:
            return wish.grid_id is not None and wish.grid_id == self.grid_id
        if self.area == COMMUNITY:
            return wish.community_id == self.community_id
        return False

    def covers_person(self, person: Person) -> bool:
        if self.area == ALL:
            return True
        if self.area == GRID:  # in the grid, and not on record in another community
            return (person.grid_id is not None and person.grid_id == self.grid_id
                    and person.community_id in (None, self.community_id))
        if self.area == COMMUNITY:
            return person.community_id is not None and person.community_id == self.community_id
        return False

    def covers_community(self, community_id: int | None) -> bool:
        """Registrations name a community: its staff and the grid workers of its grids decide them."""
        if self.area == ALL:
            return True
        return self.is_staff and community_id is not None and community_id == self.community_id

    def wish_condition(self) -> ColumnElement[bool]:
        """The area as a condition on Wish."""
        if self.area == ALL:
            return true()
        if self.area == GRID:
            return Wish.grid_id == self.grid_id
        if self.area == COMMUNITY:
            return Wish.community_id == self.community_id
        return false()

    def _narrow(self, query: Select, community_col, grid_col) -> Select:
        if self.area == ALL:
            return query
        if self.area == GRID:
            return query.where(grid_col == self.grid_id)
        if self.area == COMMUNITY:
            return query.where(community_col == self.community_id)
        return query.where(false())

    def wishes(self, query: Select) -> Select:
        return self._narrow(query, Wish.community_id, Wish.grid_id)

    def people(self, query: Select) -> Select:
        return self._narrow(query, Person.community_id, Person.grid_id)

    def registrations(self, query: Select) -> Select:
        # A registration names a community, never a grid: grid workers see their community's.
        if self.area == ALL:
            return query
        if not self.is_staff:
            return query.where(false())
        return query.where(Registration.community_id == self.community_id)

    def notices(self, query: Select) -> Select:
        """Notices about a wish only where the wish is in the area; the rest go with the person
        they were sent to, whom the caller checks."""
        if self.area == ALL:
            return query
        return query.where(Notice.wish_id.is_(None) | Notice.wish_id.in_(self.wishes(select(Wish.id))))

    def communities(self, session: Session) -> list[Community]:
        query = select(Community).order_by(Community.id)
        if self.area != ALL:
            query = query.where(Community.id == self.community_id)
        return list(session.scalars(query))

    def grids(self, session: Session) -> list[Grid]:
        query = select(Grid).order_by(Grid.community_id, Grid.id)
        if self.area == GRID:
            query = query.where(Grid.id == self.grid_id)
        elif self.area != ALL:
            query = query.where(Grid.community_id == self.community_id)
        return list(session.scalars(query))

    # --- what the actor may see and do ----------------------------------------------------

    def may_see_contact(self, wish: Wish) -> bool:
        """Staff of the wish's area, its requester and its active claimers (a claimer loses
        this when the claim ends). Everyone else sees the wish's text scrubbed."""
        if self.contacts and self.covers(wish):
            return True
        if self.person_id is None:
            return False
        return self.person_id == wish.requester_id or any(
            c.member_id == self.person_id or (c.member is not None and c.member.id == self.person_id)
            for c in wish.active_claims)

    def require_staff_of(self, wish: Wish) -> None:
        if not self.covers(wish):
            raise NotAllowed(f"心愿 {wish.ref} 不在您负责的网格。")

    def may_place(self, person: Person) -> bool:
        """Whether the actor may leave `person` as they are now (roles, community, grid): inside
        the actor's area and with no area above the actor's own. Roles only rise through an admin."""
        if self.area == ALL:
            return True
        return self.covers_person(person) and self.contains(Scope.of_person(person))

    def may_impersonate(self, person: Person) -> bool:
        """/sim outside the demo: residents and members inside the area, never staff or admins."""
        return bool(person.openid) and not person.is_staff and self.covers_person(person)

    def ties_outside(self, session: Session, person: Person) -> bool:
        """Whether the person asked for or claimed a wish outside the area: acting as them
        would show that wish's private details and could act on it."""
        claimed = select(Claim.wish_id).where(Claim.member_id == person.id)
        return self._any_outside(session, or_(Wish.requester_id == person.id, Wish.id.in_(claimed)))

    def outside(self, session: Session, wish_ids: Iterable[int]) -> set[int]:
        """Those of these wishes that lie outside the area (a certificate's services, say)."""
        return set(session.scalars(self._outside(Wish.id.in_(set(wish_ids))))) if self.area != ALL else set()

    def _any_outside(self, session: Session, condition: ColumnElement[bool]) -> bool:
        return self.area != ALL and session.scalar(self._outside(condition).limit(1)) is not None

    def _outside(self, condition: ColumnElement[bool]) -> Select:
        return select(Wish.id).where(condition, Wish.id.not_in(self.wishes(select(Wish.id))))
