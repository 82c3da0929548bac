"""The JSON API (bearer tokens) and the health check.

Each token carries a scope (models.scope): a grid, a community, or everything. Wishes outside it
are 404. Requesters' contact details (full name, phone, address) and a wish's text as written
come only with a token created with --contacts; otherwise the text is scrubbed."""
from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select, text
from sqlalchemy.orm import joinedload, selectinload

from handlers.timeline import event_json
from models import ApiToken, Claim, Community, Grid, Person, Wish, WishEvent
from models.privacy import scrub
from models.scope import Scope
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


def wish_json(wish: Wish, scope: Scope) -> dict:
    contacts = scope.may_see_contact(wish)
    requester = wish.requester
    return {
        "id": wish.id,
        "ref": wish.ref,
        "status": wish.status,
        "content": wish.content if contacts else scrub(wish.content, requester),
        "category": wish.category,
        "urgency": wish.urgency,
        "slots": wish.slots,
        "taken_slots": wish.taken_slots,
        "community": wish.community.name,
        "street": wish.community.street.name if wish.community.street else None,
        "grid": wish.grid.name if wish.grid else None,
        "requester": requester.name if contacts else requester.masked_name,
        **({"requester_phone": requester.phone, "requester_address": requester.address} if contacts else {}),
        "created_at": wish.created_at.isoformat(),
        "published_at": wish.published_at.isoformat() if wish.published_at else None,
        "completed_at": wish.completed_at.isoformat() if wish.completed_at else None,
        "confirmed_at": wish.confirmed_at.isoformat() if wish.confirmed_at else None,
        "rating": wish.rating,
        "claims": [
            {"openid": c.member.openid, "name": c.member.name, "status": c.status,
             "unit": c.member.unit.name if c.member.unit else None,
             "hours": c.hours, "hours_verified": c.hours_verified}
            for c in wish.claims
        ],
        "timeline": [event_json(event, None if contacts else wish.requester) for event in wish.events],
    }


@api.get("/api/wishes/<number>")
def get_wish(number: str):
    with _db().reads() as session:
        scope = _require_token(session)
        wish_id = parse_id(number)
        wish = session.get(Wish, wish_id) if wish_id else None
        if wish is None or not scope.covers(wish):
            return jsonify(error="not found"), 404
        return jsonify(wish_json(wish, scope))


# Every relation wish_json reads: the single ones joined into the page's query, the lists each
# loaded in one query for the whole page.
WISH_RELATIONS = (
    joinedload(Wish.community).joinedload(Community.street),
    joinedload(Wish.grid),
    joinedload(Wish.requester),
    selectinload(Wish.claims).selectinload(Claim.member).selectinload(Person.unit),
    selectinload(Wish.events).selectinload(WishEvent.actor),
)
PAGE_SIZE = 100
MAX_PAGE_SIZE = 500


@api.get("/api/wishes")
def list_wishes():
    """Wishes by id. Pages by cursor: `after` is the last id of the previous page (the answer's
    `next_after`), so a page deep in the list costs what the first one does; `offset` still works."""
    with _db().reads() as session:
        scope = _require_token(session)
        query = scope.wishes(select(Wish)).options(*WISH_RELATIONS).order_by(Wish.id)
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
        wishes = session.scalars(query.limit(limit)).all()
        return jsonify(wishes=[wish_json(w, scope) for w in wishes], count=len(wishes),
                       next_after=wishes[-1].id if len(wishes) == limit else None)


@api.get("/healthz")
def healthz():
    try:
        with _db().reads() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ok")
