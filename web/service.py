"""Service records on the dashboard: the quarter's unit summaries, the printable service cards
and their .xlsx, and certificates (志愿服务证明) — issued, listed and checked by number.
Everything goes through the login's Scope, like every other page and export."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from sqlalchemy import select

from handlers.service_records import (
    Span,
    certificate_services,
    current_quarter,
    issue_certificate,
    local_today,
    number_text,
    service_cards,
    unit_summaries,
)
from models import BadInput, Certificate, Community, NotAllowed, Person, Unit

from .auth import login_required
from .common import act, clean_text, db, format_time, parse_id, runtime
from .exports import XLSX, download
from .service_card import cards_page, cards_workbook, summary_rows

service = Blueprint("service", __name__, url_prefix="/admin/service")
RECENT_CERTIFICATES = 30


def per_hour() -> float:
    return runtime().settings.points_per_hour


def chosen_span() -> tuple[str, Span]:
    quarter = clean_text(request.args.get("quarter")) or current_quarter()
    try:
        return quarter, Span.quarter(quarter)
    except BadInput:
        abort(400, description=f"季度请写成 2026Q4 这样：{quarter}")


def chosen_cards():
    quarter, span = chosen_span()
    unit = clean_text(request.args.get("unit")) or None
    return quarter, unit, span, service_cards(db(), span, g.scope.wishes, unit=unit)


def certificates_in_scope():
    query = select(Certificate).order_by(Certificate.id.desc())
    if not g.scope.is_admin:
        query = query.where(Certificate.community_id == g.scope.community_id)
    return query


def shown(certificates: list[Certificate]) -> list[Certificate]:
    """A certificate names each wish served and who verified it: a grid login sees one only when
    every one of those wishes lies in its grid, as with the wishes' own pages (one query)."""
    served = {c.id: {service.wish_id for service in certificate_services(c)} for c in certificates}
    outside = g.scope.outside(db(), set().union(*served.values()))
    return [c for c in certificates if not served[c.id] & outside]


def members_in_scope() -> list[Person]:
    return list(db().scalars(g.scope.people(select(Person).where(Person.roles.contains("member")))
                             .order_by(Person.name, Person.id)))


@service.get("/")
@login_required
def index():
    quarter, unit, span, cards = chosen_cards()
    certificates = shown(list(db().scalars(certificates_in_scope().limit(RECENT_CERTIFICATES))))
    return render_template(
        "admin/service.html", quarter=quarter, unit=unit, span=span, per_hour=per_hour(),
        summaries=summary_rows(unit_summaries(cards), per_hour()), cards=cards, number=number_text,
        units=db().scalars(select(Unit.name).order_by(Unit.name)).all(), members=members_in_scope(),
        certificates=certificates, today=local_today().isoformat(),
        year_start=local_today().replace(month=1, day=1).isoformat(),
    )


@service.get("/cards")
@login_required
def cards():
    _quarter, _unit, span, cards = chosen_cards()
    return cards_page(unit_summaries(cards), span, per_hour())


@service.get("/cards.xlsx")
@login_required
def cards_xlsx():
    quarter, unit, span, cards = chosen_cards()
    body = cards_workbook(cards, unit_summaries(cards), span, per_hour())
    return download(body, f"双报到服务卡-{quarter}{'-' + unit if unit else ''}.xlsx", XLSX)


def _parse_day(value: str | None, what: str) -> date:
    try:
        return date.fromisoformat(clean_text(value))
    except ValueError:
        raise BadInput(f"{what}请写成 2026-10-01 这样。")


def _issue(ctx, member_id: int | None, first: str | None, last: str | None) -> Certificate:
    member = db().get(Person, member_id) if member_id else None
    if member is None or not g.scope.covers_person(member):
        raise NotAllowed("请选择您负责范围内的志愿者。")
    community_id = member.community_id if g.scope.is_admin else g.scope.community_id
    community = db().get(Community, community_id) if community_id else None
    if community is None:
        raise BadInput(f"{member.name}没有登记社区，不能出具证明。")
    span = Span.days(_parse_day(first, "开始日期"), _parse_day(last, "结束日期"))
    g.issued = issue_certificate(ctx, member, community, span, g.scope.wishes)
    return g.issued


@service.post("/certificates")
@login_required
def issue():
    form = request.form
    if not act(_issue, parse_id(form.get("member")), form.get("first"), form.get("last"),
               success="证明已出具。"):
        return redirect(url_for("service.index"))
    return redirect(url_for("service.certificate", number=g.issued.number))


@service.get("/certificates/<number>")
@login_required
def certificate(number: str):
    found = db().scalar(certificates_in_scope().where(Certificate.number == clean_text(number)))
    if found is None or not shown([found]):
        abort(404)
    unit = found.person.unit.name if found.person.unit else None
    return render_template("service/certificate.html", c=found, services=certificate_services(found),
                           period=Span.days(found.period_start, found.period_end).label, unit=unit,
                           number=number_text, issued=format_time(found.created_at, "%Y年%m月%d日"))


@service.get("/check")
@login_required
def check():
    number = clean_text(request.args.get("number"))
    if not number:
        return redirect(url_for("service.index"))
    return redirect(url_for("service.certificate", number=number))
