"""Dashboard logins: password check, the session, CSRF tokens and login throttling."""
from __future__ import annotations

import functools
import hmac
import re
import secrets
import threading
import time
from datetime import timedelta
from urllib.parse import urlsplit

from flask import abort, current_app, g, redirect, request, session, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from handlers.directory import find_community, find_grid
from models import BadInput, Person, StaffUser
from models.scope import Scope
from models.staff import STAFF_ROLES

from .common import db

SESSION_LIFETIME = timedelta(hours=8)
# Failed logins allowed per username, and per address (offices share one address behind NAT).
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


class LoginThrottle:
    """Login attempts per key, forgotten a window after the key's last attempt; in Redis when
    configured so every process shares the count, else in this process's memory. Keys are
    `kind:value`, e.g. `user:admin` or `ip:10.0.0.1`.

    An attempt is counted before its password is checked, and the count it gets is the one
    compared with the limit: checking first and counting after a failure let parallel guesses
    all through."""

    def __init__(self, redis=None, limits: dict[str, int] = MAX_FAILURES, window: int = FAILURE_WINDOW):
        self.redis, self.limits, self.window = redis, limits, window
        self._counts: dict[str, tuple[int, float]] = {}  # key -> (count, expiry), as Redis keeps them
        self._lock = threading.Lock()

    def attempt(self, *keys: str) -> bool:
        """Counts an attempt against every key; False when any key is over its limit."""
        if self.redis is not None:
            pipe = self.redis.pipeline()
            for key in keys:
                pipe.incr(self._name(key))
                pipe.expire(self._name(key), self.window)
            counts = pipe.execute()[::2]
        else:
            with self._lock:
                now = time.monotonic()
                counts = []
                for key in keys:
                    count, expiry = self._counts.get(key, (0, now))
                    count = (count if expiry > now else 0) + 1
                    self._counts[key] = (count, now + self.window)
                    counts.append(count)
        return all(count <= self.limits[key.partition(":")[0]] for key, count in zip(keys, counts))

    def take_back(self, *keys: str) -> None:
        """Uncounts one attempt, e.g. a good login, which must not use up its office's address."""
        for key in keys:
            if self.redis is not None:
                self.redis.decr(self._name(key))
            else:
                with self._lock:
                    if key in self._counts:
                        count, expiry = self._counts[key]
                        self._counts[key] = (max(count - 1, 0), expiry)

    def reset(self, *keys: str) -> None:
        for key in keys:
            if self.redis is not None:
                self.redis.delete(self._name(key))
            else:
                with self._lock:
                    self._counts.pop(key, None)

    @staticmethod
    def _name(key: str) -> str:
        return f"wishbot:login-attempts:{key}"


def throttle() -> LoginThrottle:
    ext = current_app.extensions
    if "wishbot.login_throttle" not in ext:
        ext["wishbot.login_throttle"] = LoginThrottle(ext["wishbot"].redis)
    return ext["wishbot.login_throttle"]


def log_in(staff: StaffUser) -> None:
    session.clear()  # a fresh session (and CSRF token) at every login: no fixation
    session.permanent = True
    session["staff_id"] = staff.id


def log_out() -> None:
    session.clear()


# --- CSRF ---------------------------------------------------------------------------------


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


def check_csrf() -> None:
    sent = request.form.get("csrf_token") or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf", "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(400, description="页面已过期，请刷新后重试。")


# --- the current login --------------------------------------------------------------------


def current_staff(db_session: Session) -> StaffUser | None:
    staff_id = session.get("staff_id")
    return db_session.get(StaffUser, staff_id) if staff_id else None


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
