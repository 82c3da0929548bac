"""Dashboard logins: password check, and the kept libraries that hold the session
(Flask-Login), CSRF protection (Flask-WTF) and the login throttle (Flask-Limiter)."""
from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import threading
from datetime import timedelta
from urllib.parse import urlsplit

from flask import current_app, g, make_response, redirect, render_template, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from bot.settings import prompt_redis_options
from handlers.directory import find_community, find_grid
from models import BadInput, Person, StaffUser
from models.scope import Scope
from models.staff import STAFF_ROLES

from .common import clean_text, db, parse_id

log = logging.getLogger(__name__)
SESSION_LIFETIME = timedelta(hours=8)
# Attempts allowed per username at one address, and failed logins per address (offices share
# one address behind NAT), each in FAILURE_WINDOW.
MAX_FAILURES = {"user": 5, "ip": 20}
FAILURE_WINDOW = 15 * 60  # seconds
MIN_PASSWORD = 8
# The Person a login acts as holds a chat role too, so the review rules in handlers/ apply.
PERSON_ROLE = {"admin": "admin", "community": "gridworker", "gridworker": "gridworker"}
# Compared against when the username is unknown, so both paths cost one hash check.
_DUMMY_HASH = generate_password_hash(secrets.token_hex(8))
_UNSAFE_IN_NEXT = re.compile(r"[\x00-\x1f\x7f\\]|\s")  # control characters, whitespace, backslash


def add_staff(session: Session, username: str, role: str, password: str, *, community: str | None = None,
              grid: str | None = None, openid: str | None = None, name: str | None = None) -> StaffUser:
    """A dashboard login, acting as the person with `openid` (or a new person)."""
    username = (username or "").strip()
    if not username:
        raise BadInput("用户名不能为空")
    if role not in STAFF_ROLES:
        raise BadInput(f"角色只能是 {'|'.join(STAFF_ROLES)}：{role}")
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"密码至少{MIN_PASSWORD}位")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
        raise BadInput(f"登录名已存在：{username}")
    grid_row = find_grid(session, grid) if grid else None
    community_row = find_community(session, community) if community else (grid_row.community if grid_row else None)
    if grid_row and grid_row.community_id != community_row.id:
        raise BadInput(f"网格 {grid} 不属于社区 {community}")
    if role == "community" and community_row is None:
        raise BadInput("社区工作人员要写 --community 社区")
    if role == "gridworker" and grid_row is None:
        raise BadInput("网格员要写 --grid 社区/网格")
    person = session.scalar(select(Person).where(Person.openid == openid)) if openid else None
    if openid and person is None:
        raise BadInput(f"没有这个人：{openid}")
    if person is None:
        person = Person(name=(name or username).strip(), roles="", community=community_row, grid=grid_row)
        session.add(person)
    if not person.has_role(PERSON_ROLE[role]):
        person.add_role(PERSON_ROLE[role])
    staff = StaffUser(username=username, password_hash=generate_password_hash(password), role=role,
                      community=community_row, grid=grid_row, person=person)
    session.add(staff)
    session.flush()
    return staff


def authenticate(session: Session, username: str, password: str) -> StaffUser | None:
    staff = session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
    ok = check_password_hash(staff.password_hash if staff else _DUMMY_HASH, password)
    return staff if staff and ok else None


# --- the session (Flask-Login), CSRF (Flask-WTF) and the login throttle (Flask-Limiter) ------


class Login(UserMixin):
    """What Flask-Login keeps in the session: the staff id and its session version."""

    def __init__(self, staff: StaffUser):
        self.staff = staff

    def get_id(self) -> str:
        return f"{self.staff.id}:{self.staff.session_version}"


def _load_login(session_id: str) -> Login | None:
    staff_id, _, version = session_id.partition(":")
    staff = db().get(StaffUser, parse_id(staff_id) or 0) if parse_id(staff_id) else None
    if staff is None or str(staff.session_version) != version:
        return None  # logged out since (or never was): this copy of the cookie is dead
    return Login(staff)


def _login_key(form_field: str = "username") -> str:
    """The username (hashed: a 60 KB name costs the same as any) and the client's address: a
    stranger elsewhere uses up only their own attempts, never the staff member's."""
    username = clean_text(request.form.get(form_field))
    return hashlib.sha256(username.encode()).hexdigest()[:32] + "@" + (request.remote_addr or "")


def _failed_login(response) -> bool:
    return response.status_code == 401


def _throttled(_request_limit):
    return make_response(render_template("admin/login.html", next=request.form.get("next", ""),
                                         error="登录失败次数太多，请15分钟后再试。"), 429)


def _limiter(app, settings) -> Limiter:
    """Counts in Redis when configured, shared by every process; while Redis is down or hangs,
    in this process's memory (asked with the reply path's short timeouts), so that logging in
    never depends on Redis."""
    storage, options = "memory://", {}
    if settings.redis_url:
        storage, options = settings.redis_url, prompt_redis_options()
    return Limiter(get_remote_address, app=app, storage_uri=storage, storage_options=options,
                   strategy="moving-window", key_prefix="wishbot-login", in_memory_fallback_enabled=True,
                   swallow_errors=True, headers_enabled=False)


def init_auth(app, settings) -> None:
    """Sessions, CSRF protection and the login throttle for the dashboard and /sim."""
    app.config.update(
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies,
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        WTF_CSRF_SSL_STRICT=settings.secure_cookies,
    )
    manager = LoginManager(app)
    manager.user_loader(_load_login)
    csrf = CSRFProtect(app)
    for name in ("webhook", "api"):  # signed by WeChat, or by a bearer token: no cookies
        csrf.exempt(app.blueprints[name])
    limiter = _limiter(app, settings)
    # Checked in this order: an address over its limit is refused before its username is counted.
    # Every failed login counts against its address; every attempt, counted before its password
    # is checked (so parallel guesses cannot slip through), against the username at that address.
    login_view = app.view_functions["admin.login"]
    login_view = limiter.limit(f"{MAX_FAILURES['ip']} per {FAILURE_WINDOW} seconds", methods=["POST"],
                               deduct_when=_failed_login, on_breach=_throttled)(login_view)
    login_view = limiter.limit(f"{MAX_FAILURES['user']} per {FAILURE_WINDOW} seconds", key_func=_login_key,
                               methods=["POST"], on_breach=_throttled)(login_view)
    app.view_functions["admin.login"] = _one_post_at_a_time(login_view)
    app.extensions["wishbot.limiter"] = limiter


def _one_post_at_a_time(view):
    """Login attempts of this process counted one after another: limits' in-memory storage (no
    Redis, or Redis down) is not atomic under a burst of parallel requests — 40 at once let 8
    guesses through a limit of 5. Logins are rare, so the wait costs nothing; with Redis the
    counts are atomic across processes as well."""
    lock = threading.Lock()

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method != "POST":
            return view(*args, **kwargs)
        with lock:
            return view(*args, **kwargs)

    return wrapper


def log_in(staff: StaffUser) -> None:
    session.clear()  # a fresh session (and CSRF token) at every login: no fixation
    session.permanent = True
    login_user(Login(staff))
    limiter = current_app.extensions["wishbot.limiter"]
    key = _login_key()
    for limit in limiter.current_limits:  # a good login forgets the guesses at its username
        if key in limit.request_args:
            try:
                limiter.limiter.clear(limit.limit, *limit.request_args)
            except Exception as error:  # Redis went away mid-request: the count just runs out
                log.warning("could not clear the login count (%s)", error)


def log_out(db_session: Session) -> None:
    """Ends this login's sessions for good: the cookie, and any copy of it, no longer loads."""
    if current_user.is_authenticated:
        staff = db_session.get(StaffUser, current_user.staff.id)
        staff.session_version += 1
        db_session.commit()
    logout_user()
    session.clear()


# --- the current login --------------------------------------------------------------------


def current_staff(db_session: Session) -> StaffUser | None:
    return current_user.staff if current_user.is_authenticated else None


def login_required(view):
    """Loads the login into g.staff and its Scope into g.scope."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        staff = current_staff(db())
        if staff is None:
            return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
        g.staff, g.scope = staff, Scope.of_login(staff)
        return view(*args, **kwargs)

    return wrapper


def safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect, however a browser reads the target.
    Browsers drop tabs and newlines and read a backslash as "/": "/<tab>/evil.example" is
    "//evil.example" to them."""
    if target and not _UNSAFE_IN_NEXT.search(target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and parts.path.startswith("/") and not parts.path.startswith("//"):
            return target
    return url_for("ledger.index")
