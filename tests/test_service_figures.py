"""Hours and points in the figures: the honour roll by member and by unit, verified hours per
community per month — SQL aggregates, through the login's scope — with 2 points an hour."""
from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from bot.settings import Settings
from handlers.service_figures import service_figures
from handlers.service_records import everything
from models import local_time, utcnow
from bot.figures import recent_months

from .conftest import make_settings
from .test_dashboard import csrf, log_in
from .test_service_card import services  # noqa: F401  (the fixture)
from .world import session_of

THIS_MONTH = local_time(utcnow()).strftime("%Y-%m")


@pytest.fixture
def settings(database_url, wechat_api) -> Settings:
    return make_settings(database_url, wechat_api.url_for("").rstrip("/"), points_per_hour=2.0)


def test_points_per_hour_comes_from_the_environment():
    assert Settings.from_env({"WISHBOT_POINTS_PER_HOUR": "1.5"}).points_per_hour == 1.5
    assert Settings.from_env({}).points_per_hour == 1.0


def test_hours_figures_count_only_verified_services(services, app):  # noqa: F811
    assert services.say("o-chen", "认领 2") != ""  # #2 waits for review: nothing to count
    months = recent_months(local_time(utcnow()))
    with session_of(app) as s:
        f = service_figures(s, everything, THIS_MONTH, months, 2.0)
        everyone = service_figures(s, everything, None, months, 2.0)
    assert [(r.name, r.unit, r.services, r.hours, r.points) for r in f.members] == [
        ("李建国", "市税务局", 2, 5.0, 10.0), ("陈晓梅", "市司法局", 1, 1.5, 3.0)]
    assert [(r.unit, r.members, r.services, r.hours, r.points) for r in f.units] == [
        ("市税务局", 1, 2, 5.0, 10.0), ("市司法局", 1, 1, 1.5, 3.0)]
    assert f.monthly.communities == {"东山社区": {THIS_MONTH: 3.0}, "新城社区": {THIS_MONTH: 3.5}}
    assert f.monthly.row("新城社区") == [0.0] * 11 + [3.5]
    assert everyone.members == f.members
    with session_of(app) as s:
        last_year = service_figures(s, everything, f"{int(THIS_MONTH[:4]) - 1}-01", months, 2.0)
    assert last_year.members == [] and last_year.units == []


def test_my_service_counts_points_at_the_configured_rate(services):  # noqa: F811
    assert "已核实工时 5 小时，积分 10 分" in services.say("o-li", "我的服务")


def test_figures_page_and_report_are_scoped(services, client):  # noqa: F811
    log_in(client, "xincheng")
    page = client.get("/admin/figures/").get_data(as_text=True)
    assert "服务时长荣誉榜" in page and "每小时 2 分" in page
    assert '<td>李建国</td><td>市税务局</td>\n      <td class="num">1</td><td class="num">2</td><td class="num">4</td>' in page
    assert "东山社区" not in page.split("各社区每月服务时长")[1]
    book = load_workbook(io.BytesIO(client.get(f"/admin/export/report.xlsx?month={THIS_MONTH}").data))
    rows = [list(r) for r in book["服务时长榜"].iter_rows(values_only=True)]
    assert rows == [["名次", "姓名", "单位", "服务次数", "已核实工时", "积分"],
                    [1, "李建国", "市税务局", 1, 2, 4], [2, "陈晓梅", "市司法局", 1, 1.5, 3]]
    units = [list(r) for r in book["单位工时"].iter_rows(values_only=True)]
    assert units[1:] == [["市税务局", 1, 1, 2, 4], ["市司法局", 1, 1, 1.5, 3]]
    monthly = [list(r) for r in book["各社区月度工时"].iter_rows(values_only=True)]
    assert monthly[0][-1] == THIS_MONTH and monthly[1:] == [["新城社区", *[0] * 11, 3.5]]

    client.post("/admin/logout", data={"csrf_token": csrf(client, "/admin/figures/")})
    log_in(client, "boss")
    page = client.get("/admin/figures/").get_data(as_text=True)
    assert '<td>李建国</td><td>市税务局</td>\n      <td class="num">2</td><td class="num">5</td><td class="num">10</td>' in page
