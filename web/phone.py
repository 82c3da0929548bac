"""The phone page of one wish (/w/<signed token>), opened from a group push inside WeChat.

Who is looking is learnt through the Official Account's web authorisation (snsapi_base: no
question asked, nothing typed): without a session the page sends the browser to WeChat's
authorize page, which comes back to /w/oauth with a `code` and our `state`; the code is
exchanged for the openid. The page shows the wish as `查询 N` shows it to that person, with
one large 认领 button for a member, and 完成 (with a photo) and 放弃 for their own claim. The
buttons run the chat commands themselves (same rules, same transaction, same notices).
A stranger or a resident gets a plain page and no one's data.
"""
from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlencode

from flask import (
    Blueprint,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy import select

from bot.links import PAGE_PATH
from handlers import run_command
from handlers.context import Context
from handlers.media import attach_uploaded_photo
from handlers.query import show_wish
from models import Person, UserError, Wish
from models.scope import Scope
from models.wish import PUBLISHED

from .common import clean_text, db, runtime, takes_upload
from .sim import demo_openid_for_code

phone = Blueprint("phone", __name__, url_prefix=PAGE_PATH.rstrip("/"))
OPENID = "wx_openid"  # the session key of the person the web authorisation found
STATE = "wx_oauth_state"
NEXT = "wx_oauth_next"
MAX_PHOTO_BYTES = 10 * 1024 * 1024
NOTE_CHARS = 500


def _links():
    links = runtime().links
    if links is None:
        _gone("此功能未开启。")
    return links


class _Page(Exception):
    """Ends a view with a plain notice page."""

    def __init__(self, message: str, status: int):
        self.message, self.status = message, status


def _gone(message: str, status: int = 404):
    raise _Page(message, status)


@phone.errorhandler(_Page)
def _plain_page(page: _Page):
    return render_template("phone/notice.html", message=page.message), page.status


@phone.errorhandler(CSRFError)
def _stale_form(_error):
    return render_template("phone/notice.html", message="页面已过期，请刷新后重试。"), 400


@phone.errorhandler(400)
def _bad_request(error):
    return render_template("phone/notice.html", message=error.description or "请求有误。"), 400


@phone.errorhandler(413)
def _too_large(_error):
    return render_template("phone/notice.html", message="照片太大了，请换一张小一点的。"), 413


@phone.after_request
def _headers(response):
    # Personal pages: never cached by a proxy, never framed, never sent on as a Referer.
    response.headers.setdefault("Cache-Control", "private, no-store")
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


def _wish_id(token: str) -> int:
    wish_id = _links().wish_id(token)
    if wish_id is None:
        _gone("链接无效。请从群里的消息重新打开。")
    return wish_id


def _person() -> Person | None:
    openid = session.get(OPENID)
    return db().scalar(select(Person).where(Person.openid == openid)) if openid else None


# --- web authorisation -----------------------------------------------------------------------


def authorize_url(redirect_uri: str, state: str) -> str:
    """WeChat's authorize page, parameters in the order WeChat's documentation gives them."""
    s = runtime().settings
    query = urlencode({"appid": s.wechat_appid, "redirect_uri": redirect_uri, "response_type": "code",
                       "scope": "snsapi_base", "state": state})
    return f"{s.wechat_oauth_base}/connect/oauth2/authorize?{query}#wechat_redirect"


def _exchange():
    """code -> openid: WeChat's access_token endpoint, or the simulator's stand-in in the demo."""
    rt = runtime()
    if rt.settings.wechat_secret and rt.settings.wechat_appid:
        return rt.outbound.official.openid_for_code
    if rt.settings.demo:
        return demo_openid_for_code
    return None


def _authorise(token: str):
    if _exchange() is None:
        _gone("公众号网页授权未配置，请在公众号里发「认领 编号」。", 503)
    state = secrets.token_hex(16)
    session[STATE], session[NEXT] = state, token
    return redirect(authorize_url(f"{_links().public_url}{url_for('phone.come_back')}", state))


@phone.get("/oauth")
def come_back():
    """WeChat sends the browser back here with `code` and the `state` we gave it."""
    state, token = session.pop(STATE, None), session.pop(NEXT, None)
    sent = request.args.get("state", "")
    if not state or not token or not hmac.compare_digest(sent, state):
        _gone("授权已过期，请从群里的消息重新打开。", 400)
    code = request.args.get("code", "")
    exchange = _exchange()
    if not code or exchange is None:
        _gone("您没有同意授权，无法认领。可以在公众号里发「认领 编号」。", 400)
    try:
        openid = exchange(code)
    except Exception as error:  # a used or stale code, or WeChat away: the user simply tries again
        current_app.logger.warning("web authorisation failed: %s", error)
        _gone("微信授权没有成功，请从群里的消息重新打开。", 502)
    session.clear()  # a fresh session for the new identity (no fixation)
    session.permanent = True  # as long as a dashboard session; then WeChat is asked again
    session[OPENID] = openid
    return redirect(url_for("phone.show", token=token))


# --- the page ----------------------------------------------------------------------------------


@phone.get("/<token>")
def show(token: str):
    wish_id = _wish_id(token)
    if OPENID not in session:
        return _authorise(token)
    person = _person()
    wish = db().get(Wish, wish_id)
    if wish is None:
        _gone("这个心愿已经不存在了。")
    messages = get_flashed_messages(with_categories=True)
    if person is None or not _may_open(person, wish):
        return render_template("phone/notice.html", message=(
            "这个页面是给志愿者认领心愿用的。想成为志愿者，请在公众号里发：报到 姓名 单位 手机号"), messages=messages)
    # Exactly what 查询 N answers this person: the text scrubbed unless their Scope lets them see
    # it as written; a wish not yet published only to its requester and staff (one line, no wish).
    lines = show_wish(_context(person), str(wish.id)).split("\n")
    if len(lines) == 1:
        return render_template("phone/notice.html", message=lines[0], messages=messages)
    claim = wish.claim_of(person)
    can_claim = (person.has_role("member") and claim is None and wish.status == PUBLISHED
                 and wish.open_slots > 0 and person.id != wish.requester_id)
    return render_template("phone/wish.html", wish=wish, token=token, person=person, lines=lines[1:],
                           claim=claim, can_claim=can_claim, messages=messages)


def _may_open(person: Person, wish: Wish) -> bool:
    """Members, the wish's own requester, and staff of its area (models.scope); not other
    residents, nor staff of elsewhere."""
    return person.has_role("member") or person.id == wish.requester_id or Scope.of_person(person).covers(wish)


def _context(person: Person) -> Context:
    """The person acting on the web channel, with their own Scope (Context builds it)."""
    settings = runtime().settings
    return Context(session=db(), person=person, channel="web", points_per_hour=settings.points_per_hour,
                   settings=settings)


def _act(token: str, command: str, after=None):
    """Run the chat command for the signed-in person, commit, hand its notices on. Flask-WTF's
    CSRFProtect has checked the form's token against this session before the view runs."""
    wish_id = _wish_id(token)
    person = _person()
    if person is None:
        _gone("请从群里的消息重新打开。", 403)
    ctx = _context(person)
    try:
        replies = [run_command(ctx, command.format(id=wish_id))]
        if after is not None:
            replies.append(after(ctx))
        db().commit()
    except UserError as refusal:
        db().rollback()
        flash(refusal.reply, "error")
    else:
        runtime().after_commit(ctx.notices, ctx.jobs)
        for reply in replies:
            flash(reply, "ok")
    return redirect(url_for("phone.show", token=token))


@phone.post("/<token>/claim")
def claim(token: str):
    return _act(token, "认领 {id}")


@phone.post("/<token>/release")
def release(token: str):
    return _act(token, "放弃 {id}")


@phone.post("/<token>/complete")
@takes_upload(MAX_PHOTO_BYTES)
def complete(token: str):
    note = " ".join(clean_text(request.form.get("note")).split())[:NOTE_CHARS]
    upload = request.files.get("photo")
    data = upload.read() if upload is not None and upload.filename else b""
    wish_id = _links().wish_id(token)
    after = (lambda ctx: attach_uploaded_photo(ctx, wish_id, data)) if data else None
    return _act(token, "完成 {id} " + note.replace("{", "{{").replace("}", "}}"), after)
