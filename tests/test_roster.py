"""The roster (花名册): import all or nothing from .csv and .xlsx, from the command line and the
dashboard, export, and registrations approved from the page."""
from __future__ import annotations

import csv
import io
import shutil

import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from cli import main
from bot.db import Database
from handlers import directory
from handlers.roster import COLUMNS, ImportFailed, import_people, read_rows
from models import Person, Registration

from .test_dashboard import csrf, log_in

GOOD = [
    ["o-new-1", "resident", "钱玉珍", "13800001111", "新城社区", "第一网格", "", "新城小区7号楼"],
    ["o-new-2", "member", "吴志刚", "139 0000 2222", "新城社区", "", "市司法局", ""],
    ["", "resident", "郑大爷", "", "", "新城社区/第二网格", "", "新城小区9号楼"],
]
BAD = [
    ["o-bad-1", "resident", "甲", "12345", "新城社区", "", "", ""],       # phone
    ["o-bad-2", "resident", "乙", "", "没有的社区", "", "", ""],          # community
    ["o-li", "member", "李建国", "", "新城社区", "", "市税务局", ""],      # already a member
    ["o-bad-3", "volunteer", "丙", "", "新城社区", "", "", ""],           # role
]


def csv_bytes(rows, headings=COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(headings)
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def xlsx_bytes(rows, headings=COLUMNS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(list(headings))
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def count_people(app) -> int:
    with app.extensions["wishbot"].db.sessions() as session:
        return session.scalar(select(func.count()).select_from(Person))


@pytest.fixture
def cli(app):
    return CliRunner()


def test_import_from_csv_on_the_command_line(app, world, cli, tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(csv_bytes(GOOD))
    before = count_people(app)
    result = cli.invoke(main, ["import", str(path)], obj=app.extensions["wishbot"])
    assert result.exit_code == 0, result.output
    assert count_people(app) == before + 3
    with app.extensions["wishbot"].db.sessions() as session:
        wu = session.scalar(select(Person).where(Person.openid == "o-new-2"))
        assert (wu.phone, wu.unit.name, wu.community.name) == ("13900002222", "市司法局", "新城社区")
        zheng = session.scalar(select(Person).where(Person.name == "郑大爷"))
        assert zheng.openid is None and zheng.grid.label == "新城社区/第二网格"


def test_a_bad_row_imports_nothing_and_every_bad_row_is_reported(app, world, cli, tmp_path):
    path = tmp_path / "people.xlsx"
    path.write_bytes(xlsx_bytes(GOOD + BAD))
    before = count_people(app)
    result = cli.invoke(main, ["import", str(path)], obj=app.extensions["wishbot"])
    assert result.exit_code != 0
    for line in (5, 6, 7, 8):  # headings are line 1; the bad rows follow the three good ones
        assert f"第{line}行" in result.output
    assert "第2行" not in result.output and "手机号格式不对" in result.output and "没有这个社区" in result.output
    assert count_people(app) == before
    with app.extensions["wishbot"].db.sessions() as session:
        assert session.scalar(select(Person).where(Person.openid == "o-new-1")) is None


def test_chinese_headings_and_gbk_csv_are_read():
    headings = ("OpenID", "角色", "姓名", "手机号", "社区", "网格", "共建单位", "住址")
    data = csv_bytes([GOOD[0]], headings).decode("utf-8").encode("gb18030")
    rows = read_rows("花名册.csv", data)
    assert rows[0]["name"] == "钱玉珍" and rows[0]["grid"] == "第一网格"


def test_an_unreadable_file_is_refused(app, world, cli, tmp_path):
    path = tmp_path / "people.xlsx"
    path.write_bytes(b"not a spreadsheet")
    result = cli.invoke(main, ["import", str(path)], obj=app.extensions["wishbot"])
    assert result.exit_code != 0 and "无法读取" in result.output


def test_import_from_the_dashboard_reports_rows_and_keeps_nothing(app, client, staff):
    log_in(client, "boss")
    before = count_people(app)
    response = client.post("/admin/people/import", data={
        "csrf_token": csrf(client, "/admin/people/"), "file": (io.BytesIO(xlsx_bytes(GOOD + BAD)), "people.xlsx"),
    }, content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "没有导入任何人" in page and "第 5 行" in page and "第 8 行" in page
    assert count_people(app) == before
    response = client.post("/admin/people/import", data={
        "csrf_token": csrf(client, "/admin/people/"), "file": (io.BytesIO(xlsx_bytes(GOOD)), "people.xlsx"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    assert count_people(app) == before + 3


def test_community_staff_cannot_import_into_another_community(app, client, staff):
    log_in(client, "xincheng")
    rows = [["o-ds", "resident", "东山居民", "", "东山社区", "", "", ""], GOOD[0]]
    before = count_people(app)
    response = client.post("/admin/people/import", data={
        "csrf_token": csrf(client, "/admin/people/"), "file": (io.BytesIO(csv_bytes(rows)), "people.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 422 and "第 2 行" in response.get_data(as_text=True)
    assert count_people(app) == before


def test_community_staff_cannot_pull_in_a_person_of_another_community(app, client, staff):
    log_in(client, "xincheng")
    rows = [["o-sun", "member", "孙桂芝", "", "新城社区", "", "", ""]]  # o-sun lives in 东山社区
    response = client.post("/admin/people/import", data={
        "csrf_token": csrf(client, "/admin/people/"), "file": (io.BytesIO(csv_bytes(rows)), "people.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 422
    with app.extensions["wishbot"].db.sessions() as session:
        sun = session.scalar(select(Person).where(Person.openid == "o-sun"))
        assert sun.community.name == "东山社区" and not sun.has_role("member")


def test_the_roster_page_and_export_keep_to_the_scope(client, staff):
    log_in(client, "liufang")
    page = client.get("/admin/people/").get_data(as_text=True)
    assert "王秀兰" in page and "赵德明" not in page and "孙桂芝" not in page
    rows = list(csv.reader(io.StringIO(client.get("/admin/people/export.csv").data.decode("utf-8-sig"))))
    assert tuple(rows[0]) == COLUMNS
    assert ["o-wang", "resident", "王秀兰", "13800000001", "新城社区", "新城社区/第一网格", "",
            "新城小区3号楼401", ""] in rows
    assert not any("孙桂芝" in row for row in rows)


def test_the_exported_roster_imports_into_a_fresh_database(client, staff, sqlite_template, tmp_path):
    log_in(client, "boss")
    exported = client.get("/admin/people/export.xlsx").data
    sheet = load_workbook(io.BytesIO(exported)).active
    assert tuple(next(sheet.iter_rows(values_only=True))) == COLUMNS
    shutil.copy(sqlite_template, tmp_path / "fresh.sqlite3")
    fresh = Database(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    with fresh.transaction() as s:
        for community, street in (("新城社区", "新兴街道"), ("东山社区", "向阳街道")):
            directory.add_community(s, community, street)
        for grid in ("新城社区/第一网格", "新城社区/第二网格", "东山社区/第一网格"):
            directory.add_grid(s, *grid.split("/"))
        for unit in ("市税务局", "市司法局"):
            directory.add_unit(s, unit)
        people = import_people(s, read_rows("花名册.xlsx", exported))
        assert {p.openid for p in people} >= {"o-wang", "o-zhao", "o-sun", "o-li", "o-chen", "o-liu", "o-zhou"}
        wang = s.scalar(select(Person).where(Person.openid == "o-wang"))
        assert (wang.phone, wang.grid.label, wang.address) == ("13800000001", "新城社区/第一网格", "新城小区3号楼401")
    fresh.dispose()


def test_import_people_raises_with_every_bad_row(app, world):
    with pytest.raises(ImportFailed) as failure:
        with app.extensions["wishbot"].db.transaction() as s:
            import_people(s, [dict(zip(COLUMNS, row)) for row in GOOD + BAD])
    assert [e.line for e in failure.value.errors] == [5, 6, 7, 8]


def test_registrations_are_approved_from_the_page(app, client, chat, staff):
    chat.dialog([("o-newcomer", "报到 张伟 市税务局 13912345678 新城社区",
                  "收到您的报到申请 R1（新城社区），审核通过后会通知您。")])
    log_in(client, "xincheng")
    page = client.get("/admin/people/").get_data(as_text=True)
    assert "待审核的报到" in page and "张伟" in page
    with app.extensions["wishbot"].db.sessions() as session:
        number = session.scalar(select(Registration.id).where(Registration.name == "张伟"))
    response = client.post(f"/admin/people/registrations/{number}/approve",
                           data={"csrf_token": csrf(client, "/admin/people/")})
    assert response.status_code == 302
    with app.extensions["wishbot"].db.sessions() as session:
        person = session.scalar(select(Person).where(Person.openid == "o-newcomer"))
        assert person.has_role("member") and person.community.name == "新城社区"
        assert session.get(Registration, number).status == "approved"
    assert any("已通过" in text for text in chat.private_notices("o-newcomer"))
    assert "待审核的报到" not in client.get("/admin/people/").get_data(as_text=True)


def test_registrations_of_another_community_are_out_of_reach(app, client, chat, staff):
    chat.say("o-newcomer", "报到 张伟 市税务局 13912345678 东山社区")
    log_in(client, "xincheng")
    with app.extensions["wishbot"].db.sessions() as session:
        number = session.scalar(select(Registration.id).where(Registration.name == "张伟"))
    assert "张伟" not in client.get("/admin/people/").get_data(as_text=True)
    response = client.post(f"/admin/people/registrations/{number}/reject",
                           data={"csrf_token": csrf(client, "/admin/people/"), "reason": "x"})
    assert response.status_code == 404


def test_the_cli_import_takes_off_the_csv_formula_guard(tmp_path):
    from handlers.roster import read_rows

    data = "openid,role,name,phone,community,grid,unit,address\no-x,resident,'=1+2,,,,,'-3号楼\n".encode()
    rows = read_rows("people.csv", data)
    assert rows[0]["name"] == "=1+2" and rows[0]["address"] == "-3号楼"


def test_a_roster_larger_than_a_webhook_body_is_taken(app, client, staff):
    """The dashboard's roster upload may be megabytes; the 64 KB body limit is the webhook's."""
    log_in(client, "boss")
    rows = [[f"o-big-{n}", "resident", f"居民{n}", "", "新城社区", "第一网格", "", "新城小区" + "号楼" * 40]
            for n in range(400)]
    data = csv_bytes(rows)
    assert len(data) > 64 * 1024
    before = count_people(app)
    response = client.post("/admin/people/import", data={
        "csrf_token": csrf(client, "/admin/people/"), "file": (io.BytesIO(data), "people.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 302
    assert count_people(app) == before + 400
