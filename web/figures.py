"""Figures (统计): the five stages month by month, by area, partner unit, member and category,
and the median times to claim and to complete — computed in the database by bot.figures,
through the login's Scope."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, g, render_template, request
from markupsafe import Markup, escape

from bot.figures import Area, Figures, compute, everything, parse_month
from handlers.service_figures import service_figures
from handlers.service_records import number_text
from models import local_time
from models.scope import COMMUNITY, GRID
from models.wish import STAGES

from .auth import login_required
from .charts import grouped_bars, horizontal_bars
from .common import db, runtime

figures = Blueprint("figures", __name__, url_prefix="/admin/figures")


def scoped_figures(month: str | None, now: datetime) -> Figures:
    """The login's figures, from the clock's roll-up (for everything, a community or a grid)."""
    scope = g.scope
    if scope.is_admin:
        return compute(db(), everything, month, now)
    area = None
    if scope.area == GRID and scope.grid_id is not None:
        area = Area(grid=scope.grid_id)
    elif scope.area == COMMUNITY and scope.community_id is not None:
        area = Area(community=scope.community_id)
    return compute(db(), scope.wishes, month, now, area=area)


def area_rows(f: Figures) -> Markup:
    """The area table's rows, written at once: a city's thousand grids cost Jinja a loop each."""
    keys = [key for key, _, _ in STAGES]
    rows = [f'<tr class="level-{i}"><td>{escape(r.level)}</td><td>{escape(r.name)}</td>'
            + "".join(f'<td class="num">{r.counts[key]}</td>' for key in keys) + "</tr>"
            for i, r in enumerate(f.areas)]
    return Markup("\n".join(rows) if rows else '<tr><td colspan="7" class="empty">暂无数据</td></tr>')


def duration(hours: float | None) -> str:
    if hours is None:
        return "—"
    if hours < 24:
        return f"{hours:.1f}小时"
    return f"{hours / 24:.1f}天"


@figures.get("/")
@login_required
def index():
    now = local_time(datetime.now().astimezone())
    chosen = request.args.get("month", now.strftime("%Y-%m"))
    month = parse_month(chosen)
    result = scoped_figures(month, now)
    monthly_chart = grouped_bars(
        [str(int(m[5:])) for m in result.months],  # month numbers: "11月" twelve times does not fit a phone
        [(heading, [result.monthly_for(m)[key] for m in result.months]) for key, heading, _ in STAGES],
        title="近12个月各环节数量（横轴是月份）",
    )
    hours = service_figures(db(), g.scope.wishes, month, result.months, runtime().settings.points_per_hour)
    return render_template(
        "admin/figures.html", f=result, stages=STAGES, duration=duration, monthly_chart=monthly_chart,
        hours=hours, number=number_text, area_rows=area_rows(result),
        category_chart=horizontal_bars(result.categories, title="按类别"),
        unit_chart=horizontal_bars([(u, done) for u, _, done in result.units], title="共建单位完成数"),
    )
