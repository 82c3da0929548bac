"""The chat simulator (/sim): chat as a person through the real conversation (deduplicated,
one transaction, the same handlers as WeChat) and watch the pushes the outbox sends.

Open to everyone only when the app runs the demo (Settings.demo). Otherwise staff logins
only, and only as residents and members inside the login's scope (models.scope), never as staff
or admins; whether the person may be spoken for is checked again inside the message's own
transaction, after the handler ran, so a claim racing a 查询 cannot leak a wish's details.
"""
from __future__ import annotations

import secrets
from urllib.parse import urlencode

from flask import (
    Blueprint,
    abort,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from itsdangerous import BadSignature, TimestampSigner
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from bot.inbound import Inbound
from models import BadInput, Notice, Person, Wish, limited
from models.scope import Scope

from .auth import current_staff
from .common import clean_text, close_db, db, format_time, parse_id, runtime

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
SIM_PERSON = "sim_person"
DEMO_CODE_SALT = "wishbot.demo-oauth"
DEMO_CODE_SECONDS = 300  # as long as WeChat's codes live


def _demo() -> bool:
    return runtime().settings.demo


def _scope() -> Scope | None:
    staff = current_staff(db())
    if staff is not None:
        g.staff = staff
    if _demo():
        return Scope.everything()
    return Scope.of_login(staff) if staff else None


def _person(scope: Scope, person_id) -> Person | None:
    """Whom the login may speak as: anyone with WeChat in the demo; else a resident or member
    inside the scope."""
    person_id = parse_id(person_id)
    person = db().get(Person, person_id) if person_id else None
    if person is None or not person.openid:
        return None
    if not _demo() and not scope.may_impersonate(person):
        return None
    return person


OUT_OF_SCOPE = "此人不在您负责的范围内（或提交、认领过范围以外的心愿），不能以其身份发言。"


def guard_for(scope: Scope):
    """The check the conversation makes inside the message's transaction (composition.conversation.Guard)."""

    def guard(session: Session, person: Person) -> str | None:
        if scope.may_impersonate(person) and not scope.ties_outside(session, person):
            return None
        return OUT_OF_SCOPE

    return guard


@sim.get("/")
def page():
    scope = _scope()
    if scope is None:
        return redirect(url_for("admin.login", next=request.path))
    query = scope.people(select(Person).where(Person.openid.is_not(None))).order_by(Person.id)
    people = [p for p in db().scalars(query) if _demo() or scope.may_impersonate(p)]
    examples = {p.id: [c for role in sorted(p.role_set) for c in EXAMPLES.get(role, [])] for p in people}
    examples = {pid: list(dict.fromkeys(commands)) for pid, commands in examples.items()}
    return render_template("sim.html", people=people, examples=examples,
                           demo=runtime().settings.demo)


def say_as(openid: str, text: str, guard=None) -> str | None:
    """One text message, as the Official Account channel hands it to the conversation; `guard`:
    composition.conversation.Guard."""
    inbound = Inbound(channel="wechat", sender=openid, kind="text", text=text,
                      message_key=f"wechat:{secrets.randbits(63)}")
    return runtime().conversation.handle(inbound, guard)


@sim.post("/say")
def say():
    scope = _scope()
    if scope is None:
        return jsonify(error="请先登录"), 401
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):  # a list, a number or no JSON at all
        return jsonify(error="请选择一个人并输入内容"), 400
    person = _person(scope, payload.get("person"))
    text = clean_text(str(payload.get("text", "")))
    if person is None or not text:
        return jsonify(error="请选择一个人并输入内容"), 400
    try:
        limited(text, MAX_TEXT, "内容")
    except BadInput as refusal:
        return jsonify(error=refusal.reply), 400
    guard = None if _demo() else guard_for(scope)
    if guard is not None and guard(db(), person) is not None:  # the clear answer; asked again inside
        return jsonify(error=OUT_OF_SCOPE), 403
    openid = person.openid
    # The conversation opens its own transaction; SQLite allows one writer, so ours ends first.
    close_db()
    reply = say_as(openid, text, guard)
    return jsonify(reply=reply)


def _feed_query(scope: Scope, person: Person):
    private = (Notice.audience == "private") & or_(
        (Notice.channel == "official") & (Notice.target == person.openid),
        (Notice.channel == "wecom") & (Notice.target == person.wecom_userid),
        (Notice.person_id == person.id) & (Notice.channel == "log"))
    group = (Notice.audience == "group") & (Wish.community_id == person.community_id)
    boxes = [private, group]
    theirs = Scope.of_person(person)
    if theirs.is_staff:
        boxes.append((Notice.audience == "gridworkers") & theirs.wish_condition())
    return scope.notices(select(Notice).outerjoin(Wish, Notice.wish_id == Wish.id).where(or_(*boxes)))


@sim.get("/feed")
def feed():
    scope = _scope()
    if scope is None:
        return jsonify(error="请先登录"), 401
    person = _person(scope, request.args.get("person"))
    if person is None:
        return jsonify(error="没有这个人"), 404
    if session.get(SIM_PERSON) != person.id:
        session[SIM_PERSON] = person.id  # whom the demo's stand-in web authorisation signs in
    after = parse_id(request.args.get("after")) or 0
    query = _feed_query(scope, person)
    if after:
        notices = db().scalars(query.where(Notice.id > after).order_by(Notice.id)).all()
    else:
        notices = db().scalars(query.order_by(Notice.id.desc()).limit(HISTORY)).all()[::-1]
    last = max([n.id for n in notices] + [after])
    return jsonify(last=last, notices=[{
        "id": n.id, "box": n.audience, "box_label": BOXES.get(n.audience, n.audience), "text": n.text,
        "status": n.status, "time": format_time(n.created_at, "%H:%M"),
    } for n in notices])


# --- the demo's stand-in for WeChat's web authorisation --------------------------------------
# In the demo there is no Official Account: WECHAT_OAUTH_BASE points here, and this page plays
# WeChat's authorize page, signing in whoever the simulator is showing (snsapi_base asks nothing).


def _demo_signer() -> TimestampSigner:
    return TimestampSigner(runtime().settings.secret_key, salt=DEMO_CODE_SALT)


def demo_openid_for_code(code: str) -> str:
    """The demo's code exchange (WeChat's sns/oauth2/access_token plays this part for real)."""
    try:
        return _demo_signer().unsign(code, max_age=DEMO_CODE_SECONDS).decode()
    except BadSignature as error:
        raise ValueError("errcode 40029: invalid code") from error


@sim.get("/connect/oauth2/authorize")
def demo_authorize():
    if not runtime().settings.demo:
        abort(404)
    links = runtime().links
    redirect_uri, state = request.args.get("redirect_uri", ""), request.args.get("state", "")
    if links is None or not redirect_uri.startswith(links.public_url + "/") or request.args.get("scope") != "snsapi_base":
        abort(400, description="redirect_uri 不在授权域名下")  # as WeChat refuses (10003)
    chosen = parse_id(request.args.get("person")) or session.get(SIM_PERSON)
    person = db().get(Person, chosen) if chosen else None
    if person is None or not person.openid:
        people = db().scalars(select(Person).where(Person.openid.is_not(None)).order_by(Person.id)).all()
        return render_template("sim_authorize.html", people=people, query=request.args)
    code = _demo_signer().sign(person.openid).decode()
    return redirect(f"{redirect_uri}?{urlencode({'code': code, 'state': state})}")
