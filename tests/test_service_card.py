"""The quarterly service cards and certificates, read back from what was generated: the
.xlsx (openpyxl) and the printable pages, through the CLI and the dashboard, each scoped."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import func, select

from cli import main
from handlers.service_records import current_quarter, local_today
from models import Certificate, Person, WishEvent

from .test_dashboard import csrf, log_in
from .world import session_of

QUARTER = current_quarter()


@pytest.fixture
def services(chat, staff):
    """In 新城社区: #1 (three slots) done by 李建国 2h and 陈晓梅 1.5h, confirmed by the
    resident; #2 done by 李建国 1h, not yet confirmed. In 东山社区: #3 done by 李建国 3h,
    confirmed by its grid worker."""
    chat.say("o-wang", "许愿 需要一副老花镜，电话13800000001")
    chat.say("o-liu", "审核 1 通过 2人")
    chat.say("o-zhao", "许愿 家里水龙头漏水")
    chat.say("o-liu", "审核 2 通过")  # not his grid: stays pending; 刘芳 is 第一网格's
    chat.say("o-sun", "许愿 想要一个书包")
    chat.say("o-zhou", "审核 3 通过")
    chat.say("o-li", "认领 1")
    chat.say("o-chen", "认领 1")
    chat.say("o-li", "完成 1 2小时")
    chat.say("o-chen", "完成 1 一个半小时")
    chat.say("o-wang", "确认 1")
    chat.say("o-li", "认领 3")
    chat.say("o-li", "完成 3 三小时")
    chat.say("o-zhou", "确认 3")
    return chat


@pytest.fixture
def second_grid_wish(services, app):
    """#2 published by an admin and done by 李建国 (1 hour, waiting for confirmation)."""
    from .world import add_people

    add_people(app, dict(openid="o-admin", role="admin", name="管理员甲", community="新城社区"))
    services.say("o-admin", "审核 2 通过")
    services.say("o-li", "认领 2")
    assert "工时 1小时" in services.say("o-li", "完成 2 1小时")
    return services


def run_cli(app, *args):
    env = {"WISHBOT_DATABASE_URL": app.extensions["wishbot"].settings.database_url,
           "WISHBOT_SECRET_KEY": "cli-test"}
    return CliRunner().invoke(main, ["report", "service-card", *args], env=env, catch_exceptions=False)


def sheet_rows(sheet) -> list[tuple]:
    return [tuple(c for c in row if c is not None) for row in sheet.iter_rows(values_only=True)]


def test_cli_writes_one_sheet_per_member_and_a_unit_summary(second_grid_wish, app, tmp_path):
    out = tmp_path / "cards.xlsx"
    result = run_cli(app, "--quarter", QUARTER, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "3 cards, 2 units" in result.output
    book = load_workbook(out)
    assert book.sheetnames == ["单位汇总", "陈晓梅", "李建国", "李建国(2)"]
    assert sheet_rows(book["单位汇总"]) == [
        ("共建单位", "人数", "服务次数", "已核实工时", "积分", "待核实工时"),
        ("市司法局", 1, 1, 1.5, 1.5, 0),
        ("市税务局", 1, 3, 5.0, 5.0, 1.0),
    ]
    today = local_today().isoformat()
    dongshan, xincheng = sheet_rows(book["李建国"]), sheet_rows(book["李建国(2)"])
    assert dongshan[0] == ("东山社区 双报到服务卡",)
    assert dongshan[2:5] == [("姓名", "李建国"), ("单位", "市税务局"), ("社区", "东山社区")]
    assert ("序号", "服务日期", "心愿编号", "服务内容", "工时（小时）", "核实人") in dongshan
    assert (1, today, "#3", "想要一个书包", 3, "周强") in dongshan
    assert xincheng[0] == ("新城社区 双报到服务卡",)
    # The card carries the content scrubbed like a group push: the phone number masked.
    assert (1, today, "#1", "需要一副老花镜，电话（电话）", 2, "王秀兰") in xincheng
    assert (2, today, "#2", "家里水龙头漏水", 1, "待核实") in xincheng
    assert ("已核实工时", 2, "积分", 2) in xincheng
    assert ("待核实工时", 1, "（许愿人或网格员确认后计入）") in xincheng
    assert any(str(row[0]).startswith("社区（盖章）") for row in xincheng if row)
    assert "13800000001" not in str([sheet_rows(s) for s in book.worksheets])


def test_cli_narrows_by_unit_and_community_and_refuses_bad_input(services, app, tmp_path):
    out = tmp_path / "unit.xlsx"
    assert run_cli(app, "--quarter", QUARTER, "--unit", "市司法局", "--out", str(out)).exit_code == 0
    assert load_workbook(out).sheetnames == ["单位汇总", "陈晓梅"]
    assert run_cli(app, "--quarter", QUARTER, "--community", "东山社区", "--out", str(out)).exit_code == 0
    book = load_workbook(out)
    assert book.sheetnames == ["单位汇总", "李建国"] and book["李建国"]["A1"].value == "东山社区 双报到服务卡"

    for args, reason in ((["--quarter", "2026Q5"], "季度请写成 2026Q4"),
                         (["--quarter", QUARTER, "--unit", "市水务局"], "unknown unit: 市水务局"),
                         (["--quarter", QUARTER, "--community", "西山社区"], "unknown community: 西山社区")):
        result = run_cli(app, *args, "--out", str(tmp_path / "bad.xlsx"))
        assert result.exit_code != 0 and reason in result.output
        assert not (tmp_path / "bad.xlsx").exists()
    assert run_cli(app, "--quarter", "2025Q1", "--out", str(out)).exit_code == 0
    assert sheet_rows(load_workbook(out)["单位汇总"]) == [("共建单位", "人数", "服务次数", "已核实工时", "积分", "待核实工时")]


def test_cli_html_is_a_standalone_printable_page(services, app, tmp_path):
    out = tmp_path / "cards.html"
    assert run_cli(app, "--quarter", QUARTER, "--out", str(out)).exit_code == 0
    page = out.read_text()
    assert "@page { size: A4" in page and "<link" not in page
    assert page.count('class="sheet summary"') == 2 and page.count('class="sheet card"') == 3
    assert "<h1>东山社区</h1>" in page and "<h1>新城社区</h1>" in page
    assert "本人签字" in page and "13800000001" not in page


def test_dashboard_cards_are_scoped(services, client):
    log_in(client, "xincheng")
    response = client.get(f"/admin/service/cards.xlsx?quarter={QUARTER}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["单位汇总", "陈晓梅", "李建国"]
    assert book["李建国"]["A1"].value == "新城社区 双报到服务卡"
    page = client.get(f"/admin/service/cards?quarter={QUARTER}").get_data(as_text=True)
    assert page.count('class="sheet card"') == 2 and "东山社区" not in page
    index = client.get(f"/admin/service/?quarter={QUARTER}").get_data(as_text=True)
    assert "市税务局" in index and "市司法局" in index
    assert client.get("/admin/service/?quarter=2026Q9").status_code == 400

    client.post("/admin/logout", data={"csrf_token": csrf(client, "/admin/service/")})
    log_in(client, "zhouqiang")
    book = load_workbook(io.BytesIO(client.get(f"/admin/service/cards.xlsx?quarter={QUARTER}").data))
    assert book.sheetnames == ["单位汇总", "李建国"] and book["李建国"]["A1"].value == "东山社区 双报到服务卡"


def test_the_cards_need_a_login(client, staff):
    for path in ("/admin/service/", "/admin/service/cards", "/admin/service/cards.xlsx",
                 "/admin/service/certificates/2026-001-00001"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.location, path


def person_id(app, openid: str) -> int:
    with session_of(app) as s:
        return s.scalar(select(Person.id).where(Person.openid == openid))


def test_a_certificate_is_numbered_printable_and_on_the_timeline(second_grid_wish, app, client):
    log_in(client, "xincheng")
    first, last = local_today().replace(month=1, day=1).isoformat(), local_today().isoformat()
    response = client.post("/admin/service/certificates", data={
        "member": person_id(app, "o-li"), "first": first, "last": last,
        "csrf_token": csrf(client, "/admin/service/")})
    assert response.status_code == 302
    with session_of(app) as s:
        certificate = s.scalar(select(Certificate))
        number, community_id = certificate.number, certificate.community_id
        assert (certificate.services, certificate.hours, certificate.person.name) == (1, 2.0, "李建国")
        events = s.execute(select(WishEvent.wish_id, WishEvent.note).where(WishEvent.action == "certify")).all()
    assert re.fullmatch(rf"{local_today().year}-{community_id:03d}-\d{{5}}", number)
    assert response.location.endswith(f"/admin/service/certificates/{number}")
    assert events == [(1, f"志愿服务证明 {number}（李建国）")]  # #2 is not verified; #3 is another community's

    page = client.get(response.location).get_data(as_text=True)
    assert "志愿服务证明" in page and f"编号：{number}" in page and "出具单位：新城社区（盖章）" in page
    assert "<b>李建国</b>（市税务局）" in page and "参加志愿服务 <b>1</b> 次，累计服务时长 <b>2</b> 小时" in page
    rows = re.findall(r"<tr><td>(\d{4}-\d\d-\d\d)</td><td>(#\d+)</td><td>(.*?)</td>\s*<td class=\"num\">(.*?)</td>"
                      r"<td>(.*?)</td><td>(.*?)<br>", page)
    assert rows == [(last, "#1", "需要一副老花镜，电话（电话）", "2", "李建国", "王秀兰")]
    assert "经办人：新城社工" in page
    wish_page = client.get("/admin/wishes/1").get_data(as_text=True)
    assert number in wish_page  # listed in the wish's timeline
    assert "工时：2 小时\n      <span class=\"muted\">（王秀兰 核实）</span>" in wish_page
    assert number in client.get("/admin/service/").get_data(as_text=True)
    assert client.get(f"/admin/service/check?number={number}").location.endswith(number)

    # Another community's grid worker cannot read it; nothing without verified services is issued.
    client.post("/admin/logout", data={"csrf_token": csrf(client, "/admin/service/")})
    log_in(client, "zhouqiang")
    assert client.get(f"/admin/service/certificates/{number}").status_code == 404
    client.post("/admin/logout", data={"csrf_token": csrf(client, "/admin/service/")})
    log_in(client, "xincheng")
    response = client.post("/admin/service/certificates", data={
        "member": person_id(app, "o-li"), "first": "2025-01-01", "last": "2025-12-31",
        "csrf_token": csrf(client, "/admin/service/")}, follow_redirects=True)
    assert "李建国在2025年01月01日至2025年12月31日没有已核实的服务记录，不能出具证明。" in response.get_data(as_text=True)
    response = client.post("/admin/service/certificates", data={
        "member": person_id(app, "o-sun"), "first": first, "last": last,
        "csrf_token": csrf(client, "/admin/service/")}, follow_redirects=True)
    assert "请选择您负责范围内的志愿者。" in response.get_data(as_text=True)
    with session_of(app) as s:
        assert s.scalar(select(func.count()).select_from(Certificate)) == 1


def test_a_grid_login_reads_only_certificates_whose_every_service_lies_in_its_grid(second_grid_wish, app, client):
    """A certificate names each wish served and the resident who verified it, as the wishes' own
    pages (404 for a grid worker outside their grid) do not show them."""
    second_grid_wish.say("o-admin", "确认 2")  # 新城社区/第二网格: now a verified service of 李建国
    log_in(client, "xincheng")
    first, last = local_today().replace(month=1, day=1).isoformat(), local_today().isoformat()
    numbers = {}
    for openid in ("o-li", "o-chen"):
        response = client.post("/admin/service/certificates", data={
            "member": person_id(app, openid), "first": first, "last": last,
            "csrf_token": csrf(client, "/admin/service/")})
        numbers[openid] = response.location.rsplit("/", 1)[1]
    with session_of(app) as s:
        services = dict(s.execute(select(Certificate.number, Certificate.services)).all())
    assert services == {numbers["o-li"]: 2, numbers["o-chen"]: 1}  # 李建国: #1 and #2; 陈晓梅: #1
    client.post("/admin/logout", data={"csrf_token": csrf(client, "/admin/service/")})
    log_in(client, "liufang")  # 新城社区/第一网格
    assert client.get(f"/admin/service/certificates/{numbers['o-li']}").status_code == 404
    assert client.get(f"/admin/service/certificates/{numbers['o-chen']}").status_code == 200
    listed = client.get("/admin/service/").get_data(as_text=True)
    assert f"/certificates/{numbers['o-chen']}" in listed and f"/certificates/{numbers['o-li']}" not in listed
