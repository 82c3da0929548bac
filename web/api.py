"""The JSON API (bearer tokens) and the health check."""
from __future__ import annotations

import hashlib
import hmac

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import select, text

from handlers.timeline import event_json
from models import ApiToken, Community, Grid, Wish
from web.common import clean_text, parse_id

api = Blueprint("api", __name__)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _db():
    return current_app.extensions["wishbot"].db


def _require_token(session) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        abort(401)
    digest = hash_token(token.strip())
    stored = session.scalar(select(ApiToken.token_hash).where(ApiToken.token_hash == digest))
    if stored is None or not hmac.compare_digest(stored, digest):
        abort(401)


def wish_json(wish: Wish) -> dict:
    return {
        "id": wish.id,
        "ref": wish.ref,
        "status": wish.status,
        "content": wish.content,
        "category": wish.category,
        "urgency": wish.urgency,
        "slots": wish.slots,
        "taken_slots": wish.taken_slots,
        "community": wish.community.name,
        "street": wish.community.street.name if wish.community.street else None,
        "grid": wish.grid.name if wish.grid else None,
        "requester": wish.requester.masked_name,
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
        "timeline": [event_json(event, wish.requester_id) for event in wish.events],
    }


@api.get("/api/wishes/<number>")
def get_wish(number: str):
    with _db().sessions() as session:
        _require_token(session)
        wish_id = parse_id(number)
        wish = session.get(Wish, wish_id) if wish_id else None
        if wish is None:
            return jsonify(error="not found"), 404
        return jsonify(wish_json(wish))


@api.get("/api/wishes")
def list_wishes():
    with _db().sessions() as session:
        _require_token(session)
        query = select(Wish).order_by(Wish.id)
        if status := clean_text(request.args.get("status")):
            query = query.where(Wish.status == status)
        if community := clean_text(request.args.get("community")):
            query = query.join(Community, Wish.community_id == Community.id).where(Community.name == community)
        if grid := clean_text(request.args.get("grid")):
            query = query.join(Grid, Wish.grid_id == Grid.id).where(Grid.name == grid)
        limit = min(parse_id(request.args.get("limit")) or 500, 1000)
        offset = parse_id(request.args.get("offset")) or 0
        wishes = session.scalars(query.limit(limit).offset(offset)).all()
        return jsonify(wishes=[wish_json(w) for w in wishes], count=len(wishes))


@api.get("/healthz")
def healthz():
    try:
        with _db().sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception:
        return jsonify(status="database unavailable"), 503
    return jsonify(status="ok")
