"""The dashboard and simulator under hostile input: scope in the simulator's feed, redirects
after login, formulas in exports, ids and dates out of range, and parallel password guesses.
Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import Person
from web.common import parse_id

from .conftest import STAFF_PASSWORD
from .test_dashboard import csrf, log_in, wishes  # noqa: F401 (a fixture)
from .test_sim import person_id, say
from .world import add_people, session_of


def test_parse_id_takes_only_ascii_digits_within_postgres_integer():
    assert [parse_id(v) for v in ("1", "0042", 7, "2147483647")] == [1, 42, 7, 2147483647]
    for bad in (None, "", "0", "-1", "²", "٣", "1e3", " 1", "1\n", "2147483648", "99999999999999999999",
                True, 4.0, [1]):
        assert parse_id(bad) is None, bad


# --- finding 3: the simulator keeps to the login's scope ------------------------------------


def test_the_feed_and_chat_hide_wishes_outside_the_scope(app, client, chat, wishes):  # noqa: F811
    dongshan = wishes["o-sun"]
    chat.say("o-zhou", f"审核 {dongshan} 通过")
    # A 新城 member who claimed a 东山 wish: 新城's staff must not read its requester's details.
    assert chat.say("o-li", f"认领 {dongshan}").startswith("认领成功")
    chat.settle()
    li = person_id(app, "o-li")

    def feed_texts() -> str:
        return "\n".join(n["text"] for n in client.get(f"/sim/feed?person={li}").get_json()["notices"])

    log_in(client, "boss")
    assert "13800000003" in feed_texts()  # the claimer was told how to reach the requester

    client = app.test_client()
    log_in(client, "xincheng")
    assert "13800000003" not in feed_texts() and "孙桂芝" not in feed_texts()
    response = say(client, li, f"查询 {dongshan}", csrf(client, "/sim/"))
    assert response.status_code == 403 and "reply" not in response.get_json()
    assert say(client, person_id(app, "o-wang"), "帮助", csrf(client, "/sim/")).status_code == 200


# --- finding 4: no open redirect after login ------------------------------------------------


@pytest.mark.parametrize("target", [
    "/\t/evil.example", "/\n/evil.example", "/\r\n/evil.example", "\t//evil.example", " //evil.example",
    "//evil.example", "/\\evil.example", "https://evil.example/", "http:/evil.example", "javascript:alert(1)",
    "/\x00/evil.example", "/\u3000/evil.example", "evil.example",
])
def test_login_never_redirects_off_site(client, staff, target):
    response = client.post("/admin/login", data={"username": "boss", "password": STAFF_PASSWORD,
                                                 "csrf_token": csrf(client), "next": target})
    assert response.status_code == 302 and response.location == "/admin/wishes/"


def test_login_returns_to_the_page_asked_for(client, staff):
    response = client.post("/admin/login", data={"username": "boss", "password": STAFF_PASSWORD,
                                                 "csrf_token": csrf(client), "next": "/admin/people/?q=%E7%8E%8B"})
    assert response.location == "/admin/people/?q=%E7%8E%8B"


# --- finding 5: no live formulas in exports -------------------------------------------------

FORMULA = '=HYPERLINK("http://evil.example","点我")'


def test_ledger_exports_keep_formulas_as_text(client, chat, staff):
    chat.say("o-wang", f"许愿 {FORMULA}")
    log_in(client, "boss")
    sheet = load_workbook(io.BytesIO(client.get("/admin/export/ledger.xlsx").data)).active
    cell = next(row[5] for row in sheet.iter_rows(min_row=2) if row[5].value == FORMULA)
    assert cell.data_type == "s"
    rows = list(csv.reader(io.StringIO(client.get("/admin/export/ledger.csv").data.decode("utf-8-sig"))))
    assert [row[5] for row in rows[1:]] == ["'" + FORMULA]


def test_the_roster_exports_formulas_as_text_and_imports_them_back(app, client, staff):
    add_people(app, {"openid": "o-formula", "role": "resident", "name": "=1+2", "community": "新城社区",
                     "address": "-1层@" + FORMULA})
    log_in(client, "boss")
    sheet = load_workbook(io.BytesIO(client.get("/admin/people/export.xlsx").data)).active
    name = next(row[2] for row in sheet.iter_rows(min_row=2) if row[0].value == "o-formula")
    assert name.value == "=1+2" and name.data_type == "s"

    rows = list(csv.reader(io.StringIO(client.get("/admin/people/export.csv").data.decode("utf-8-sig"))))
    row = next(r for r in rows if r[0] == "o-formula")
    assert row[2] == "'=1+2" and row[7] == "'-1层@" + FORMULA
    # The exported row, as a new person, through the dashboard's import: the quotes come off.
    buffer = io.StringIO()
    csv.writer(buffer).writerows([rows[0], ["o-copy", *row[1:]]])
    response = client.post("/admin/people/import", data={
        "csrf_token": csrf(client, "/admin/people/"),
        "file": (io.BytesIO(buffer.getvalue().encode("utf-8")), "花名册.csv")})
    assert response.status_code == 302
    with session_of(app) as session:
        copy = session.scalar(select(Person).where(Person.openid == "o-copy"))
        assert (copy.name, copy.address) == ("=1+2", "-1层@" + FORMULA)


# --- finding 6: bad ids, numbers, dates and text are never a 500 -----------------------------

BAD_GETS = [
    "/admin/wishes/?community=²", "/admin/wishes/?grid=99999999999999999999", "/admin/wishes/?unit=3000000000",
    "/admin/wishes/?q=²", "/admin/wishes/?q=3000000000", "/admin/wishes/?q=%2399999999999999999999",
    "/admin/export/ledger.csv?q=²", "/admin/wishes/?page=99999999999999999999", "/admin/wishes/?page=²",
    "/admin/wishes/?end=9999-12-31", "/admin/wishes/?start=0001-01-01", "/admin/wishes/?start=9999-12-31",
    "/admin/export/ledger.xlsx?start=0001-01-01&end=9999-12-31",
    "/admin/wishes/99999999999999999999", "/admin/wishes/3000000000", "/admin/wishes/2147483648",
    "/admin/wishes/proofs/99999999999999999999", "/admin/wishes/proofs/3000000000",
    "/admin/wishes/?q=%00", "/admin/wishes/?q=a%00b", "/admin/wishes/?category=%00",
    "/admin/people/?q=%00", "/admin/people/?page=99999999999999999999",
    "/sim/feed?person=99999999999999999999", "/sim/feed?person=3000000000", "/sim/feed?person=²",
]


def test_bad_query_strings_and_ids_are_never_a_server_error(app, client, wishes):  # noqa: F811
    log_in(client, "boss")
    for path in BAD_GETS:
        assert client.get(path).status_code < 500, path
    wang = person_id(app, "o-wang")
    for after in ("99999999999999999999", "3000000000", "²", "-1"):
        assert client.get(f"/sim/feed?person={wang}&after={after}").status_code == 200, after
    token = csrf(client, "/admin/wishes/")
    number = wishes["o-wang"]
    posts = [
        (f"/admin/wishes/{number}/assign", {"member": "99999999999999999999"}),
        (f"/admin/wishes/{number}/assign", {"member": "3000000000"}),
        (f"/admin/wishes/{number}/assign", {"member": "²"}),
        (f"/admin/wishes/{number}/reject", {"reason": "\x00"}),
        (f"/admin/wishes/{number}/confirm", {"feedback": "好\x00", "rating": "99999999999999999999"}),
        ("/admin/wishes/99999999999999999999/publish", {}),
        ("/admin/people/registrations/99999999999999999999/approve", {}),
        ("/admin/people/registrations/3000000000/reject", {"reason": "\x00"}),
    ]
    for path, data in posts:
        assert client.post(path, data={**data, "csrf_token": token}).status_code < 500, (path, data)
    sim_token = csrf(client, "/sim/")
    texts = ((99999999999999999999, "帮助"), ("3000000000", "帮助"), (wang, "帮\x00助"), (wang, "帮\x01助\ud800"))
    for person, text in texts:
        assert say(client, person, text, sim_token).status_code < 500, (person, text)
    anonymous = app.test_client()
    assert anonymous.post("/admin/login", data={"username": "bo\x00ss", "password": "x",
                                                "csrf_token": csrf(anonymous)}).status_code == 401


def test_the_filters_still_find_by_number_and_day(client, wishes):  # noqa: F811
    log_in(client, "boss")
    page = client.get(f"/admin/wishes/?q=%23{wishes['o-zhao']}&start=0001-01-02&end=9999-12-30")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "水龙头" in text and "老花镜" not in text


# --- finding 10: parallel guesses cannot beat the login limit --------------------------------


def guesses_in_parallel(app, count: int) -> list[int]:
    clients = [app.test_client() for _ in range(count)]
    tokens = [csrf(c) for c in clients]
    start = threading.Barrier(count)

    def guess(i: int) -> int:
        start.wait()
        return clients[i].post("/admin/login", data={"username": "boss", "password": "wrong-guess",
                                                     "csrf_token": tokens[i]}).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(guess, range(count)))


def test_parallel_wrong_passwords_are_cut_off_at_the_limit(app, staff):
    statuses = guesses_in_parallel(app, 40)
    assert statuses.count(401) == 5 and statuses.count(429) == 35
