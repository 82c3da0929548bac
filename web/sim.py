"""The chat simulator (/sim): chat as any person through the real webhook — signed and
encrypted as WeChat would send it — and watch the pushes the outbox sends.

Open to everyone only when the app runs the demo (config WISHBOT_DEMO); otherwise staff
logins only, and only as people within the login's scope.
"""
from __future__ import annotations

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for
from sqlalchemy import or_, select

from bot.channels.simulate import build_text_message, read_reply, sign_request
from models import Notice, Person, Wish

from .auth import check_csrf, current_staff
from .common import close_db, db, format_time, runtime
from .scope import Scope

sim = Blueprint("sim", __name__, url_prefix="/sim")
MAX_TEXT = 500
HISTORY = 30
EXAMPLES = {  # role -> commands a newcomer can tap
    "resident": ["帮助", "许愿 需要一个助听器", "我的心愿"],
    "member": ["帮助", "心愿列表", "我的认领"],
    "gridworker": ["帮助", "统计"],
    "admin": ["帮助"],
}
BOXES = {"private": "私信", "group": "志愿者群", "gridworkers": "网格员群"}


def _scope() -> Scope | None:
    staff = current_staff(db())
    if staff is not None:
        g.staff = staff
    if current_app.config.get("WISHBOT_DEMO"):
        return Scope("admin")
    return Scope.of(staff) if staff else None


def _person(scope: Scope, person_id) -> Person | None:
    person = db().get(Person, person_id) if person_id else None
    if person is None or not person.openid or not scope.covers_person(person):
        return None
    return person


@sim.get("/")
def page():
    scope = _scope()
    if scope is None:
        return redirect(url_for("admin.login", next=request.path))
    query = scope.people(select(Person).where(Person.openid.is_not(None))).order_by(Person.id)
    people = db().scalars(query).all()
    examples = {p.id: [c for role in sorted(p.role_set) for c in EXAMPLES.get(role, [])] for p in people}
    examples = {pid: list(dict.fromkeys(commands)) for pid, commands in examples.items()}
    return render_template("sim.html", people=people, examples=examples,
                           demo=bool(current_app.config.get("WISHBOT_DEMO")))


def say_as(openid: str, text: str) -> str | None:
    """One message through this app's own /wechat handler, exactly as WeChat would send it."""
    s = runtime().settings
    xml = build_text_message(openid, text)
    params, body = sign_request(xml, token=s.wechat_token, appid=s.wechat_appid, aes_key=s.wechat_aes_key)
    response = current_app.test_client().post("/wechat", query_string=params, data=body,
                                              content_type="text/xml")
    if response.status_code != 200:
        raise RuntimeError(f"/wechat answered {response.status_code}")
    return read_reply(response.data, token=s.wechat_token, appid=s.wechat_appid, aes_key=s.wechat_aes_key)


@sim.post("/say")
def say():
    check_csrf()
    scope = _scope()
    if scope is None:
        return jsonify(error="请先登录"), 401
    payload = request.get_json(silent=True) or {}
    person = _person(scope, payload.get("person"))
    text = str(payload.get("text", "")).strip()[:MAX_TEXT]
    if person is None or not text:
        return jsonify(error="请选择一个人并输入内容"), 400
    openid = person.openid
    # The webhook opens its own transaction; SQLite allows one writer, so ours ends first.
    close_db()
    reply = say_as(openid, text)
    return jsonify(reply=reply)


def _feed_query(person: Person):
    private = (Notice.audience == "private") & or_(
        Notice.target == person.openid, (Notice.person_id == person.id) & (Notice.channel == "log"))
    group = (Notice.audience == "group") & (Wish.community_id == person.community_id)
    boxes = [private, group]
    if person.has_role("gridworker", "admin"):
        where = Wish.grid_id == person.grid_id if person.grid_id else Wish.community_id == person.community_id
        boxes.append((Notice.audience == "gridworkers") & where)
    return select(Notice).outerjoin(Wish, Notice.wish_id == Wish.id).where(or_(*boxes))


@sim.get("/feed")
def feed():
    scope = _scope()
    if scope is None:
        return jsonify(error="请先登录"), 401
    person = _person(scope, request.args.get("person", type=int))
    if person is None:
        return jsonify(error="没有这个人"), 404
    after = request.args.get("after", 0, type=int)
    query = _feed_query(person)
    if after:
        notices = db().scalars(query.where(Notice.id > after).order_by(Notice.id)).all()
    else:
        notices = db().scalars(query.order_by(Notice.id.desc()).limit(HISTORY)).all()[::-1]
    last = max([n.id for n in notices] + [after])
    return jsonify(last=last, notices=[{
        "id": n.id, "box": n.audience, "box_label": BOXES.get(n.audience, n.audience), "text": n.text,
        "status": n.status, "time": format_time(n.created_at, "%H:%M"),
    } for n in notices])
