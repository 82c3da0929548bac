"""The chat simulator (/sim): chat as any person through the same conversation a WeChat
message reaches, and watch the pushes the outbox sends.

Open to everyone only when the app runs the demo (Settings.demo); otherwise staff
logins only, and only as people within the login's scope.
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

from bot.inbound import Inbound
from models import BadInput, Claim, Notice, Person, Wish, limited

from .auth import check_csrf, current_staff
from .common import clean_text, close_db, db, format_time, parse_id, runtime
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
SIM_PERSON = "sim_person"
DEMO_CODE_SALT = "wishbot.demo-oauth"
DEMO_CODE_SECONDS = 300  # as long as WeChat's codes live


def _scope() -> Scope | None:
    staff = current_staff(db())
    if staff is not None:
        g.staff = staff
    if runtime().settings.demo:
        return Scope("admin")
    return Scope.of(staff) if staff else None


def _person(scope: Scope, person_id) -> Person | None:
    person_id = parse_id(person_id)
    person = db().get(Person, person_id) if person_id else None
    if person is None or not person.openid or not scope.covers_person(person):
        return None
    return person


def _tied_outside(scope: Scope, person: Person) -> bool:
    """Whether the person asked for or claimed a wish outside the scope: chatting as them would
    show that wish's private details in the replies, and could act on it."""
    if scope.is_admin:
        return False
    claimed = select(Claim.wish_id).where(Claim.member_id == person.id)
    tied = select(Wish.id).where(or_(Wish.requester_id == person.id, Wish.id.in_(claimed)))
    return db().scalar(tied.where(Wish.id.not_in(scope.wishes(select(Wish.id)))).limit(1)) is not None


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
                           demo=runtime().settings.demo)


def say_as(openid: str, text: str) -> str | None:
    """One text message, as the Official Account channel hands it to the conversation."""
    inbound = Inbound(channel="wechat", sender=openid, kind="text", text=text,
                      message_key=f"wechat:{secrets.randbits(63)}")
    return runtime().conversation.handle(inbound)


@sim.post("/say")
def say():
    check_csrf()
    scope = _scope()
    if scope is None:
        return jsonify(error="请先登录"), 401
    payload = request.get_json(silent=True) or {}
    person = _person(scope, payload.get("person"))
    text = clean_text(str(payload.get("text", "")))
    if person is None or not text:
        return jsonify(error="请选择一个人并输入内容"), 400
    try:
        limited(text, MAX_TEXT, "内容")
    except BadInput as refusal:
        return jsonify(error=refusal.reply), 400
    if _tied_outside(scope, person):
        return jsonify(error="此人提交或认领过您负责范围以外的心愿，不能以其身份发言"), 403
    openid = person.openid
    # The webhook opens its own transaction; SQLite allows one writer, so ours ends first.
    close_db()
    reply = say_as(openid, text)
    return jsonify(reply=reply)


def _feed_query(scope: Scope, person: Person):
    private = (Notice.audience == "private") & or_(
        (Notice.channel == "official") & (Notice.target == person.openid),
        (Notice.channel == "wecom") & (Notice.target == person.wecom_userid),
        (Notice.person_id == person.id) & (Notice.channel == "log"))
    group = (Notice.audience == "group") & (Wish.community_id == person.community_id)
    boxes = [private, group]
    if person.has_role("gridworker", "admin"):
        where = Wish.grid_id == person.grid_id if person.grid_id else Wish.community_id == person.community_id
        boxes.append((Notice.audience == "gridworkers") & where)
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
