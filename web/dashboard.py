"""The dashboard's front door: log in and out, the shared page furniture, and static files."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from .auth import (
    authenticate,
    check_csrf,
    csrf_token,
    log_in,
    log_out,
    login_required,
    safe_next,
    throttle,
)
from .common import clean_text, db, format_time

admin = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                  static_folder="static")


@admin.app_context_processor
def page_furniture():
    return {"csrf_token": csrf_token, "format_time": format_time, "staff": g.get("staff")}


# Pages load nothing but our own files: no inline script, no CDN, no framing.
CONTENT_SECURITY_POLICY = ("default-src 'self'; img-src 'self' data:; script-src 'self'; style-src 'self'; "
                           "frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


@admin.after_app_request
def security_headers(response):
    if request.path.startswith(("/admin", "/sim", "/w/")):
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@admin.get("/")
@login_required
def home():
    return redirect(url_for("ledger.index"))


@admin.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("admin/login.html", next=request.args.get("next", ""))
    check_csrf()
    username = clean_text(request.form.get("username"))
    user, address = f"user:{username}", f"ip:{request.remote_addr}"
    if not throttle().attempt(user, address):
        return render_template("admin/login.html", next=request.form.get("next", ""),
                               error="登录失败次数太多，请15分钟后再试。"), 429
    staff = authenticate(db(), username, request.form.get("password") or "")
    if staff is None:
        return render_template("admin/login.html", next=request.form.get("next", ""),
                               error="用户名或密码不对。"), 401
    throttle().reset(user)
    throttle().take_back(address)
    log_in(staff)
    return redirect(safe_next(request.form.get("next")))


@admin.post("/logout")
def logout():
    check_csrf()
    log_out()
    flash("已退出登录。", "ok")
    return redirect(url_for("admin.login"))


@admin.app_errorhandler(400)
def bad_request(error):
    if not request.path.startswith(("/admin", "/sim")):
        return error
    return render_template("admin/error.html", message=error.description or "请求有误。"), 400


@admin.app_errorhandler(404)
def not_found(error):
    if not request.path.startswith(("/admin", "/sim")):
        return error
    return render_template("admin/error.html", message="没有找到这个页面，或不在您负责的范围内。"), 404

