"""The roster page: people in scope, import and export (花名册), and registrations to approve."""
from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from handlers.directory import set_identities
from handlers.registration import approve_registration, reject_registration
from handlers.roster import COLUMNS, HEADINGS, ImportFailed, export_rows, import_people, read_rows
from models import NotAllowed, Person, Registration, UserError
from models.directory import ROLE_LABELS
from models.workflow import REGISTRATION_PENDING

from .auth import login_required
from .common import act, clean_text, db, paginate, takes_upload
from .exports import today_stamp
from .sheets import Sheet, csv_response, xlsx_response

people = Blueprint("people", __name__, url_prefix="/admin/people")
PAGE_SIZE = 50
MAX_UPLOAD = 5 * 1024 * 1024


def _pending_registrations() -> list[Registration]:
    query = select(Registration).where(Registration.status == REGISTRATION_PENDING).order_by(Registration.id)
    return list(db().scalars(g.scope.registrations(query)))


@people.get("/")
@login_required
def index():
    query = g.scope.people(select(Person))
    if q := clean_text(request.args.get("q")):
        query = query.where(Person.name.contains(q, autoescape=True) | Person.phone.contains(q, autoescape=True))
    total = db().scalar(select(func.count()).select_from(query.subquery()))
    page, pages = paginate(total, PAGE_SIZE)
    rows = db().scalars(query.order_by(Person.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    return render_template(
        "admin/people.html", people=rows, total=total, page=page, pages=pages, q=q, roles=ROLE_LABELS,
        registrations=_pending_registrations(), columns=HEADINGS, role_labels=ROLE_LABELS.values(),
    )


def _check_scope(person: Person) -> None:
    """Each imported person, as known before and as the row leaves them: inside the login's area
    and never given a role above the login's own (only an admin makes admins or staff above)."""
    if not g.scope.may_place(person):
        raise NotAllowed("不在您负责的社区或网格，或角色高于您自己的")


@people.post("/import")
@login_required
@takes_upload(MAX_UPLOAD)
def upload():
    file = request.files.get("file")
    if file is None or not file.filename:
        flash("请选择要导入的文件。", "error")
        return redirect(url_for("people.index"))
    session = db()
    try:
        rows = read_rows(file.filename, file.read())
        added = import_people(session, rows, check=_check_scope)
        session.commit()
    except ImportFailed as failure:
        session.rollback()
        return render_template("admin/import_report.html", errors=failure.errors, filename=file.filename), 422
    except UserError as refusal:
        session.rollback()
        flash(refusal.reply, "error")
        return redirect(url_for("people.index"))
    flash(f"已导入 {len(added)} 行。", "ok")
    return redirect(url_for("people.index"))


@people.get("/export.xlsx")
@login_required
def export_xlsx():
    rows = export_rows(db(), g.scope.people(select(Person)))
    return xlsx_response([Sheet("花名册", COLUMNS, rows, [30, 12, 10, 14, 12, 22, 20, 30, 24])],
                         f"花名册-{today_stamp()}.xlsx")


@people.get("/export.csv")
@login_required
def export_csv():
    return csv_response(COLUMNS, export_rows(db(), g.scope.people(select(Person))), f"花名册-{today_stamp()}.csv")


@people.post("/<id:number>/identities")
@login_required
def identities(number: int):
    """Set a person's Official Account OpenID and WeCom UserID (a blank field keeps its value).
    Only for people the login may place (models.scope): an identity is who acts as the person."""
    person = db().get(Person, number)
    if person is None or not g.scope.may_place(person):
        abort(404)
    try:
        set_identities(db(), person, clean_text(request.form.get("openid")) or None,
                       clean_text(request.form.get("wecom_userid")) or None)
        db().commit()
    except UserError as refusal:
        db().rollback()
        flash(refusal.reply, "error")
    else:
        flash(f"已保存{person.name}的微信身份。", "ok")
    return redirect(url_for("people.index", q=person.name))


def _registration(number: int) -> Registration:
    registration = db().scalar(g.scope.registrations(select(Registration).where(Registration.id == number)))
    if registration is None:
        abort(404)
    return registration


@people.post("/registrations/<id:number>/approve")
@login_required
def approve(number: int):
    registration = _registration(number)
    act(approve_registration, registration, success=f"报到 {registration.ref}（{registration.name}）已通过。")
    return redirect(url_for("people.index"))


@people.post("/registrations/<id:number>/reject")
@login_required
def reject(number: int):
    registration = _registration(number)
    reason = clean_text(request.form.get("reason")) or "信息不全"
    act(reject_registration, registration, reason, success=f"报到 {registration.ref} 已驳回。")
    return redirect(url_for("people.index"))

