"""The JSON API (bearer tokens) and the health check.

Each token carries a scope (models.scope): a grid, a community, or everything. Wishes outside it
are 404. Requesters' contact details (full name, phone, address) and a wish's text as written
come only with a token created with --contacts; otherwise the text is scrubbed."""
from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select, text
from sqlalchemy.orm import aliased

from models import ApiToken, Claim, Community, Grid, Person, Street, Unit, Wish, WishEvent, local_time
from models.directory import mask_name
from models.privacy import Contact, scrub
from models.scope import Scope
from models.wish import ACTIVE, CHANNEL_LABELS, COMPLETED, EVENT_LABELS, wish_ref
from web.common import clean_text, parse_id

api = Blueprint("api", __name__)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _db():
    return current_app.extensions["wishbot"].db


def _require_token(session) -> Scope:
    """The scope of the request's bearer token; 401 without a valid one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        abort(401)
    digest = hash_token(token.strip())
    stored = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    if stored is None or not hmac.compare_digest(stored.token_hash, digest):
        abort(401)
    return Scope.of_token(stored)


@api.get("/api/wishes/<number>")
def get_wish(number: str):
    """One wish, built as a page's items are."""
    with _db().reads() as session:
        scope = _require_token(session)
        wish_id = parse_id(number)
        items = _items(session, scope, scope.wishes(_page_query()).where(Wish.id == wish_id)) if wish_id else []
        if not items:
            return jsonify(error="not found"), 404
        return jsonify(items[0])


PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


_Street, _Requesters, _Members, _Units, _Actors = (aliased(Street), aliased(Person), aliased(Person),
                                                   aliased(Unit), aliased(Person))
# A page's wishes with their community, street, grid and requester: one row each.
PAGE_COLUMNS = (
    Wish.id, Wish.status, Wish.content, Wish.category, Wish.urgency, Wish.slots, Wish.created_at,
    Wish.published_at, Wish.completed_at, Wish.confirmed_at, Wish.rating, Wish.requester_id,
    Community.name.label("community"), _Street.name.label("street"), Grid.name.label("grid"),
    _Requesters.name.label("requester_name"), _Requesters.phone.label("requester_phone"),
    _Requesters.address.label("requester_address"),
)


def _page_query():
    return (select(*PAGE_COLUMNS).select_from(Wish)
            .join(Community, Wish.community_id == Community.id)
            .outerjoin(_Street, Community.street_id == _Street.id)
            .outerjoin(Grid, Wish.grid_id == Grid.id)
            .join(_Requesters, Wish.requester_id == _Requesters.id))


def _claims_of(session, ids: list[int]) -> dict[int, list[dict]]:
    rows = session.execute(
        select(Claim.wish_id, Claim.status, Claim.hours, Claim.hours_verified_at,
               _Members.openid, _Members.name, _Units.name.label("unit"))
        .join(_Members, Claim.member_id == _Members.id).outerjoin(_Units, _Members.unit_id == _Units.id)
        .where(Claim.wish_id.in_(ids)).order_by(Claim.id)).mappings()
    claims: dict[int, list[dict]] = {}
    for c in rows:
        claims.setdefault(c["wish_id"], []).append(c)
    return claims


def _events_of(session, ids: list[int]) -> dict[int, list[dict]]:
    # The actor's name by a lookup a row: joined, PostgreSQL hashes every person (a page's
    # ~500 events are far fewer than a city's people).
    actor_name = select(_Actors.name).where(_Actors.id == WishEvent.actor_id).scalar_subquery().label("actor_name")
    rows = session.execute(
        select(WishEvent.wish_id, WishEvent.created_at, WishEvent.actor_id, actor_name,
               WishEvent.channel, WishEvent.action, WishEvent.before, WishEvent.after, WishEvent.note)
        .where(WishEvent.wish_id.in_(ids)).order_by(WishEvent.id)).mappings()
    events: dict[int, list[dict]] = {}
    for e in rows:
        events.setdefault(e["wish_id"], []).append(e)
    return events


def _local_iso(moment) -> str | None:
    """A moment with its offset, in local time as everywhere else (SQLite hands back naive UTC)."""
    return local_time(moment).isoformat() if moment is not None else None


def _event_row_json(e, masked: Contact | None) -> dict:
    """One timeline row: with `masked` (the requester, for a token without contact rights) their
    name is masked, as actor too, and the note is scrubbed of their details and any number."""
    note = e["note"]
    if masked is not None and note:
        note = scrub(note, masked)
    actor = e["actor_name"]
    if actor is not None and masked is not None and e["actor_id"] == masked.id:
        actor = mask_name(actor)
    return {
        "at": _local_iso(e["created_at"]),
        "actor": actor,
        "channel": e["channel"],
        "channel_label": CHANNEL_LABELS.get(e["channel"], e["channel"]),
        "action": e["action"],
        "label": EVENT_LABELS.get(e["action"], e["action"]),
        "before": e["before"],
        "after": e["after"],
        "note": note,
    }


def _row_json(w, contacts: bool, claims: list, events: list) -> dict:
    """A wish's JSON from plain rows, for a scope with no person (an API token)."""
    requester = Contact(w["requester_id"], w["requester_name"], w["requester_phone"], w["requester_address"])
    masked = None if contacts else requester
    return {
        "id": w["id"],
        "ref": wish_ref(w["id"]),
        "status": w["status"],
        "content": w["content"] if contacts else scrub(w["content"], requester),
        "category": w["category"],
        "urgency": w["urgency"],
        "slots": w["slots"],
        "taken_slots": sum(1 for c in claims if c["status"] in (ACTIVE, COMPLETED)),
        "community": w["community"],
        "street": w["street"],
        "grid": w["grid"],
        "requester": requester.name if contacts else requester.masked_name,
        **({"requester_phone": requester.phone, "requester_address": requester.address} if contacts else {}),
        **{moment: _local_iso(w[moment]) for moment in ("created_at", "published_at", "completed_at", "confirmed_at")},
        "rating": w["rating"],
        "claims": [
            {"openid": c["openid"], "name": c["name"], "status": c["status"], "unit": c["unit"],
             "hours": c["hours"], "hours_verified": c["hours_verified_at"] is not None}
            for c in claims
        ],
        "timeline": [_event_row_json(e, masked) for e in events],
    }


@api.get("/api/wishes")
def list_wishes():
    """Wishes by id. Pages by cursor: `after` is the last id of the previous page (the answer's
    `next_after`), so a page deep in the list costs what the first one does; `offset` still works.
    Built from plain rows in a fixed number of queries (the token, the page, its claims, its
    timeline), whatever the page's size; each item is what /api/wishes/<n> gives for the wish."""
    with _db().reads() as session:
        scope = _require_token(session)
        query = scope.wishes(_page_query()).order_by(Wish.id)
        if status := clean_text(request.args.get("status")):
            query = query.where(Wish.status == status)
        if community := clean_text(request.args.get("community")):
            query = query.where(Wish.community_id.in_(select(Community.id).where(Community.name == community)))
        if grid := clean_text(request.args.get("grid")):
            query = query.where(Wish.grid_id.in_(select(Grid.id).where(Grid.name == grid)))
        limit = min(parse_id(request.args.get("limit")) or PAGE_SIZE, MAX_PAGE_SIZE)
        if after := parse_id(request.args.get("after")):
            query = query.where(Wish.id > after)
        else:
            query = query.offset(parse_id(request.args.get("offset")) or 0)
        items = _items(session, scope, query.limit(limit))
        return jsonify(wishes=items, count=len(items), next_after=items[-1]["id"] if len(items) == limit else None)


def _items(session, scope: Scope, query) -> list[dict]:
    """The wishes `query` selects (from _page_query, in the scope) with their claims and
    timelines: three statements whatever their number."""
    rows = session.execute(query).mappings().all()
    ids = [w["id"] for w in rows]
    claims = _claims_of(session, ids) if ids else {}
    events = _events_of(session, ids) if ids else {}
    # The wishes lie in the token's area, and a token names no person: its contact right is the
    # same for each (Scope.may_see_contact).
    return [_row_json(w, scope.contacts, claims.get(w["id"], []), events.get(w["id"], [])) for w in rows]


@api.get("/healthz")
def healthz():
    try:
        with _db().reads() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ok")
