"""The dashboard's front door: log in and out, the shared page furniture, and static files."""
from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from flask_wtf.csrf import CSRFError

from .auth import authenticate, log_in, log_out, login_required, safe_next
from .common import clean_text, db, format_time

admin = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates",
                  static_folder="static")


@admin.app_context_processor
def page_furniture():
    return {"format_time": format_time, "staff": g.get("staff")}  # csrf_token(): Flask-WTF


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
    staff = authenticate(db(), clean_text(request.form.get("username")), request.form.get("password") or "")
    if staff is None:
        return render_template("admin/login.html", next=request.form.get("next", ""),
                               error="用户名或密码不对。"), 401
    log_in(staff)
    return redirect(safe_next(request.form.get("next")))


@admin.post("/logout")
def logout():
    log_out(db())
    flash("已退出登录。", "ok")
    return redirect(url_for("admin.login"))


@admin.app_errorhandler(CSRFError)
def csrf_refused(_error):
    return render_template("admin/error.html", message="页面已过期，请刷新后重试。"), 400


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

