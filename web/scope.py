"""What a dashboard login may see: admins everything, community staff their community,
grid workers their grid. Every page and export filters through one Scope."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models import Community, Grid, Notice, Person, Registration, StaffUser, Wish


@dataclass(frozen=True)
class Scope:
    role: str
    community_id: int | None = None
    grid_id: int | None = None

    @classmethod
    def of(cls, staff: StaffUser) -> "Scope":
        return cls(staff.role, staff.community_id, staff.grid_id)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def label(self) -> str:
        return {"admin": "管理员", "community": "社区工作人员", "gridworker": "网格员"}[self.role]

    def _narrow(self, query: Select, community_col, grid_col) -> Select:
        if self.is_admin:
            return query
        if self.role == "gridworker":
            return query.where(grid_col == self.grid_id)
        return query.where(community_col == self.community_id)

    def wishes(self, query: Select) -> Select:
        return self._narrow(query, Wish.community_id, Wish.grid_id)

    def people(self, query: Select) -> Select:
        return self._narrow(query, Person.community_id, Person.grid_id)

    def registrations(self, query: Select) -> Select:
        # A registration names a community, never a grid: grid workers see their community's.
        if self.is_admin:
            return query
        return query.where(Registration.community_id == self.community_id)

    def notices(self, query: Select) -> Select:
        """Notices about a wish only where the wish is in scope; the rest go with the person
        they were sent to, whom the caller checks."""
        if self.is_admin:
            return query
        return query.where(Notice.wish_id.is_(None) | Notice.wish_id.in_(self.wishes(select(Wish.id))))

    def covers(self, wish: Wish) -> bool:
        if self.is_admin:
            return True
        if self.role == "gridworker":
            return wish.grid_id is not None and wish.grid_id == self.grid_id
        return wish.community_id == self.community_id

    def covers_person(self, person: Person) -> bool:
        if self.is_admin:
            return True
        if self.role == "gridworker":
            return person.grid_id is not None and person.grid_id == self.grid_id
        return person.community_id == self.community_id

    def communities(self, session: Session) -> list[Community]:
        query = select(Community).order_by(Community.id)
        if not self.is_admin:
            query = query.where(Community.id == self.community_id)
        return list(session.scalars(query))

    def grids(self, session: Session) -> list[Grid]:
        query = select(Grid).order_by(Grid.community_id, Grid.id)
        if self.role == "gridworker":
            query = query.where(Grid.id == self.grid_id)
        elif not self.is_admin:
            query = query.where(Grid.community_id == self.community_id)
        return list(session.scalars(query))
