"""Who may act on, and see the private details of, a wish."""
from __future__ import annotations

from models import NotAllowed, Person, Wish


def is_staff_of(person: Person, wish: Wish) -> bool:
    """Admins everywhere; grid workers in the wish's grid (or its community when it has none)."""
    if person.has_role("admin"):
        return True
    if not person.has_role("gridworker"):
        return False
    if person.grid_id is not None:
        return person.grid_id == wish.grid_id
    return person.community_id == wish.community_id


def require_staff_of(person: Person, wish: Wish) -> None:
    if not is_staff_of(person, wish):
        raise NotAllowed(f"心愿 {wish.ref} 不在您负责的网格。")


def may_see_contact(person: Person, wish: Wish) -> bool:
    """Staff of its grid and the wish's active claimers; a claimer loses access when the claim ends."""
    return is_staff_of(person, wish) or wish.claim_of(person) is not None or person.id == wish.requester_id


def is_staff_of_community(person: Person, community_id: int | None) -> bool:
    """Admins everywhere; grid workers of any grid in the community."""
    if person.has_role("admin"):
        return True
    return person.has_role("gridworker") and community_id is not None and person.community_id == community_id
