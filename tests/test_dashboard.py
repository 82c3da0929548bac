"""The dashboard through Flask's test client: logins, scope, the ledger, actions, figures and
exports. Runs on SQLite and PostgreSQL. Wishes are made by chatting over the real protocol."""
from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import Community, StaffUser, Unit, Wish, WishEvent, local_zone
from web.exports import LEDGER_HEADINGS

from .conftest import STAFF_PASSWORD
from .world import VOLUNTEERS_KEY, add_people

_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf(client, path: str = "/admin/login") -> str:
    match = _CSRF.search(client.get(path).get_data(as_text=True))
    return match.group(1) or match.group(2)


def log_in(client, username: str, password: str = STAFF_PASSWORD):
    return client.post("/admin/login", data={"username": username, "password": password,
                                             "csrf_token": csrf(client)})


@pytest.fixture
def wishes(chat, staff) -> dict[str, int]:
    """One wish in each of 新城社区/第一网格, 新城社区/第二网格 and 东山社区/第一网格."""
    numbers = {}
    for who, text in (("o-wang", "需要一副老花镜"), ("o-zhao", "家里水龙头漏水"), ("o-sun", "想要一个书包")):
        reply = chat.say(who, f"许愿 {text}")
        numbers[who] = int(re.search(r"#(\d+)", reply).group(1))
    return numbers


def session_scalar(app, query):
    with app.extensions["wishbot"].db.sessions() as session:
        return session.scalar(query)


# --- logins -------------------------------------------------------------------------------


def test_the_dashboard_needs_a_login(client, staff):
    for path in ("/admin/", "/admin/wishes/", "/admin/figures/", "/admin/export/ledger.xlsx", "/admin/people/"):
        response = client.get(path)
        assert response.status_code == 302 and "/admin/login" in response.location, path


def test_passwords_are_hashed_and_a_good_login_gets_in(app, client, staff):
    stored = session_scalar(app, select(StaffUser.password_hash).where(StaffUser.username == "boss"))
    assert STAFF_PASSWORD not in stored and stored.startswith(("scrypt:", "pbkdf2:"))
    assert log_in(client, "boss", "wrong-password").status_code == 401
    response = log_in(client, "boss")
    assert response.status_code == 302 and response.location.endswith("/admin/wishes/")
    assert client.get("/admin/wishes/").status_code == 200


def test_login_attempts_are_rate_limited(client, staff):
    for _ in range(5):
        assert log_in(client, "boss", "guess").status_code == 401
    # Even the right password is refused while the username is locked out.
    assert log_in(client, "boss").status_code == 429
    assert client.get("/admin/wishes/").status_code == 302


def test_a_post_without_the_csrf_token_is_refused(client, staff, wishes):
    log_in(client, "boss")
    response = client.post(f"/admin/wishes/{wishes['o-wang']}/publish", data={"slots": "1"})
    assert response.status_code == 400
    assert client.post("/admin/login", data={"username": "boss", "password": STAFF_PASSWORD}).status_code == 400


def test_login_does_not_redirect_off_site(client, staff):
    response = client.post("/admin/login", data={"username": "boss", "password": STAFF_PASSWORD,
                                                 "csrf_token": csrf(client), "next": "//evil.example/"})
    assert response.location.endswith("/admin/wishes/")


def test_logout_ends_the_session(client, staff):
    log_in(client, "boss")
    assert client.post("/admin/logout", data={"csrf_token": csrf(client, "/admin/wishes/")}).status_code == 302
    assert client.get("/admin/wishes/").status_code == 302


# --- scope --------------------------------------------------------------------------------


def test_community_staff_see_only_their_community(client, wishes):
    log_in(client, "xincheng")
    page = client.get("/admin/wishes/").get_data(as_text=True)
    assert "老花镜" in page and "水龙头" in page and "书包" not in page
    assert client.get(f"/admin/wishes/{wishes['o-sun']}").status_code == 404
    dongshan = session_scalar(client.application, select(Community.id).where(Community.name == "东山社区"))
    asked_for_another = client.get(f"/admin/wishes/?community={dongshan}").get_data(as_text=True)
    assert "没有符合条件的心愿" in asked_for_another
    sheet = load_workbook(io.BytesIO(client.get("/admin/export/ledger.xlsx").data)).active
    contents = [row[5] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(contents) == sorted(["需要一副老花镜", "家里水龙头漏水"])
    assert "书包" not in client.get("/admin/export/ledger.csv").data.decode("utf-8-sig")


def test_a_grid_worker_sees_only_their_grid(client, wishes):
    log_in(client, "liufang")
    page = client.get("/admin/wishes/").get_data(as_text=True)
    assert "老花镜" in page and "水龙头" not in page and "书包" not in page
    assert client.get(f"/admin/wishes/{wishes['o-zhao']}").status_code == 404
    rows = list(csv.reader(io.StringIO(client.get("/admin/export/ledger.csv").data.decode("utf-8-sig"))))
    assert [row[5] for row in rows[1:]] == ["需要一副老花镜"]
    report = load_workbook(io.BytesIO(client.get("/admin/export/report.xlsx").data))
    areas = [row[1] for row in report.worksheets[1].iter_rows(min_row=2, values_only=True)]
    assert areas == ["新兴街道", "新城社区", "新城社区/第一网格"]  # only the grid's own wishes counted


def test_an_admin_sees_every_community(client, wishes):
    log_in(client, "boss")
    page = client.get("/admin/wishes/").get_data(as_text=True)
    assert all(text in page for text in ("老花镜", "水龙头", "书包"))


def test_staff_of_the_grid_see_the_requesters_contact_details(client, wishes):
    log_in(client, "liufang")
    page = client.get(f"/admin/wishes/{wishes['o-wang']}").get_data(as_text=True)
    assert "王秀兰" in page and "13800000001" in page


def test_actions_outside_the_scope_are_refused(app, client, wishes):
    log_in(client, "liufang")
    token = csrf(client, "/admin/wishes/")
    response = client.post(f"/admin/wishes/{wishes['o-sun']}/publish", data={"csrf_token": token})
    assert response.status_code == 404
    assert session_scalar(app, select(Wish.status).where(Wish.id == wishes["o-sun"])) == "pending_review"


# --- the ledger ---------------------------------------------------------------------------


def test_the_ledger_filters(client, chat, wishes):
    log_in(client, "boss")
    chat.say("o-liu", f"审核 {wishes['o-wang']} 通过")

    def shown(**args) -> set[str]:
        page = client.get("/admin/wishes/", query_string=args).get_data(as_text=True)
        return {text for text in ("老花镜", "水龙头", "书包") if text in page}

    assert shown(status="published") == {"老花镜"}
    assert shown(status="pending_review") == {"水龙头", "书包"}
    assert shown(q="水龙头") == {"水龙头"}
    assert shown(q="孙桂芝") == {"书包"}  # by the requester's name
    assert shown(q=f"#{wishes['o-zhao']}") == {"水龙头"}
    assert shown(start="2000-01-01", end="2000-01-31") == set()
    assert shown(start="2000-01-01") == {"老花镜", "水龙头", "书包"}
    # Days are Beijing days, whatever the server's clock and the database keep.
    today = datetime.now(local_zone()).date()
    assert shown(start=today.isoformat(), end=today.isoformat()) == {"老花镜", "水龙头", "书包"}
    assert shown(end=(today - timedelta(days=1)).isoformat()) == set()
    assert shown(start=(today + timedelta(days=1)).isoformat()) == set()
    chat.say("o-li", f"认领 {wishes['o-wang']}")
    unit_id = session_scalar(client.application, select(Unit.id).where(Unit.name == "市税务局"))
    assert shown(unit=unit_id) == {"老花镜"}


def test_the_ledger_paginates(app, client, chat, staff):
    for i in range(23):
        chat.say("o-wang", f"许愿 第{i:02d}个心愿")
    log_in(client, "boss")
    first = client.get("/admin/wishes/").get_data(as_text=True)
    second = client.get("/admin/wishes/?page=2").get_data(as_text=True)
    assert "第 1 / 2 页" in first and "第22个心愿" in first and "第02个心愿" not in first
    assert "第02个心愿" in second and "第22个心愿" not in second


# --- actions ------------------------------------------------------------------------------


def test_approve_from_the_dashboard_records_who_and_pushes(app, client, chat, wishes):
    log_in(client, "liufang")
    number = wishes["o-wang"]
    response = client.post(f"/admin/wishes/{number}/publish",
                           data={"csrf_token": csrf(client, "/admin/wishes/"), "slots": "2"})
    assert response.status_code == 302
    assert session_scalar(app, select(Wish.status).where(Wish.id == number)) == "published"
    with app.extensions["wishbot"].db.sessions() as session:
        event = session.scalars(select(WishEvent).where(WishEvent.wish_id == number)
                                .order_by(WishEvent.id.desc())).first()
        assert (event.action, event.channel, event.actor.name) == ("publish", "web", "刘芳")
    assert any(f"新心愿 #{number}" in text for text in chat.group_pushes(VOLUNTEERS_KEY))
    assert any(f"#{number} 已发布" in text for text in chat.private_notices("o-wang"))


def test_reject_needs_a_reason(app, client, wishes):
    log_in(client, "xincheng")
    token = csrf(client, "/admin/wishes/")
    number = wishes["o-zhao"]
    client.post(f"/admin/wishes/{number}/reject", data={"csrf_token": token, "reason": " "})
    assert session_scalar(app, select(Wish.status).where(Wish.id == number)) == "pending_review"
    page = client.get(f"/admin/wishes/{number}").get_data(as_text=True)
    assert "请写上驳回原因" in page
    client.post(f"/admin/wishes/{number}/reject", data={"csrf_token": token, "reason": "不属于微心愿"})
    assert session_scalar(app, select(Wish.reject_reason).where(Wish.id == number)) == "不属于微心愿"


def test_assign_and_confirm_for_the_resident(app, client, chat, wishes):
    from models import Person

    number = wishes["o-wang"]
    chat.say("o-liu", f"审核 {number} 通过")
    log_in(client, "liufang")
    token = csrf(client, "/admin/wishes/")
    li = session_scalar(app, select(Person.id).where(Person.openid == "o-li"))
    client.post(f"/admin/wishes/{number}/assign", data={"csrf_token": token, "member": str(li)})
    assert session_scalar(app, select(Wish.status).where(Wish.id == number)) == "claimed"
    assert any(f"#{number}" in text for text in chat.private_notices("o-li"))
    chat.say("o-li", f"完成 {number} 已送到")
    client.post(f"/admin/wishes/{number}/confirm",
                data={"csrf_token": token, "feedback": "老人很满意", "rating": "5"})
    with app.extensions["wishbot"].db.sessions() as session:
        wish = session.get(Wish, number)
        assert (wish.status, wish.rating, wish.confirmed_by_id) == ("confirmed", 5, session.scalar(
            select(StaffUser.person_id).where(StaffUser.username == "liufang")))
    page = client.get(f"/admin/wishes/{number}").get_data(as_text=True)
    assert "确认圆梦" in page and "李建国" in page and "★★★★★" in page


def claim_rows(app, number: int) -> list[tuple[int, str, float | None, str | None]]:
    from models import Claim

    with app.extensions["wishbot"].db.sessions() as session:
        return [(c.id, c.status, c.hours, c.note) for c in session.scalars(
            select(Claim).where(Claim.wish_id == number).order_by(Claim.id))]


def test_staff_complete_or_cancel_a_claim_for_its_member(app, client, chat, wishes):
    number = wishes["o-wang"]
    chat.say("o-liu", f"审核 {number} 通过 2人")
    chat.say("o-li", f"认领 {number}")
    chat.say("o-chen", f"认领 {number}")
    (li, _, _, _), (chen, _, _, _) = claim_rows(app, number)
    log_in(client, "liufang")
    page = client.get(f"/admin/wishes/{number}").get_data(as_text=True)
    assert page.count("替TA报告完成") == 2 and page.count("取消认领</button>") == 2
    token = csrf(client, f"/admin/wishes/{number}")

    # Hours that are no number change nothing and say why.
    response = client.post(f"/admin/wishes/{number}/claims/{li}/complete",
                           data={"csrf_token": token, "note": "送到了", "hours": "很久"}, follow_redirects=True)
    assert "工时请写小时数" in response.get_data(as_text=True)
    assert [status for _, status, _, _ in claim_rows(app, number)] == ["active", "active"]

    response = client.post(f"/admin/wishes/{number}/claims/{li}/complete",
                           data={"csrf_token": token, "note": "送到了", "hours": "1.5"}, follow_redirects=True)
    assert "已替 李建国 报告心愿" in response.get_data(as_text=True)
    response = client.post(f"/admin/wishes/{number}/claims/{chen}/cancel",
                           data={"csrf_token": token, "reason": "生病了"}, follow_redirects=True)
    assert "已取消 陈晓梅 的认领" in response.get_data(as_text=True)
    assert claim_rows(app, number) == [(li, "completed", 1.5, "送到了"), (chen, "released", None, None)]
    assert chat.private_notices("o-chen")[-1] == f"网格员刘芳已取消您对心愿 #{number} 的认领（生病了），谢谢您的关心！"
    assert session_scalar(app, select(Wish.status).where(Wish.id == number)) == "published"  # one slot reopened

    # A page opened before: the claim has ended, nothing changes.
    response = client.post(f"/admin/wishes/{number}/claims/{chen}/complete",
                           data={"csrf_token": token}, follow_redirects=True)
    assert "陈晓梅对心愿" in response.get_data(as_text=True) and "已放弃" in response.get_data(as_text=True)
    assert claim_rows(app, number)[1][1] == "released"
    with app.extensions["wishbot"].db.sessions() as session:
        actions = session.scalars(select(WishEvent.action).where(WishEvent.wish_id == number)
                                  .order_by(WishEvent.id)).all()
    assert actions[-2:] == ["complete_for", "cancel_claim"]


def test_claim_actions_stay_inside_the_logins_area(app, client, chat, wishes):
    number = wishes["o-wang"]
    chat.say("o-liu", f"审核 {number} 通过")
    chat.say("o-li", f"认领 {number}")
    ((li, _, _, _),) = claim_rows(app, number)
    log_in(client, "zhouqiang")  # 东山社区's grid worker
    token = csrf(client, "/admin/wishes/")
    for action in ("complete", "cancel"):
        response = client.post(f"/admin/wishes/{number}/claims/{li}/{action}", data={"csrf_token": token})
        assert response.status_code == 404
    # A claim of another wish, under a wish of one's own area, is no claim of it.
    other = wishes["o-sun"]
    chat.say("o-zhou", f"审核 {other} 通过")
    response = client.post(f"/admin/wishes/{other}/claims/{li}/complete", data={"csrf_token": token})
    assert response.status_code == 404
    # Without the form's token: refused.
    client.post("/admin/logout", data={"csrf_token": token})
    log_in(client, "liufang")
    assert client.post(f"/admin/wishes/{number}/claims/{li}/cancel").status_code == 400
    assert claim_rows(app, number) == [(li, "active", None, None)]


def test_only_the_wishs_community_members_are_offered_and_accepted(app, client, chat, wishes):
    from models import Person

    number = wishes["o-wang"]
    chat.say("o-liu", f"审核 {number} 通过")
    add_people(app, dict(openid="o-far", role="member", name="远方志愿者", phone="13900000077",
                         community="东山社区", unit="市司法局"))
    feng = session_scalar(app, select(Person.id).where(Person.openid == "o-far"))
    log_in(client, "liufang")
    page = client.get(f"/admin/wishes/{number}").get_data(as_text=True)
    assert f'value="{feng}"' not in page and "李建国" in page
    response = client.post(f"/admin/wishes/{number}/assign",
                           data={"csrf_token": csrf(client, "/admin/wishes/"), "member": str(feng)})
    assert response.status_code == 400
    assert session_scalar(app, select(Wish.status).where(Wish.id == number)) == "published"


# --- figures and exports ------------------------------------------------------------------


def test_figures_count_each_stage(client, chat, wishes):
    number = wishes["o-wang"]
    chat.say("o-liu", f"审核 {number} 通过")
    chat.say("o-li", f"认领 {number}")
    chat.say("o-li", f"完成 {number}")
    log_in(client, "boss")
    page = client.get("/admin/figures/?month=all").get_data(as_text=True)
    tiles = dict((label, int(n)) for n, label in re.findall(r"<b>(\d+)</b><span>(\S+?)</span>", page))
    assert tiles == {"征集": 3, "发布": 1, "认领": 1, "完成": 1, "确认": 0}
    assert "<svg" in page and "李建国" in page and "市税务局" in page


def test_the_ledger_xlsx_has_the_ledger_layout(client, chat, wishes):
    number = wishes["o-wang"]
    chat.say("o-liu", f"审核 {number} 通过")
    chat.say("o-li", f"认领 {number}")
    log_in(client, "boss")
    response = client.get("/admin/export/ledger.xlsx?status=claimed")
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(response.data)).active.iter_rows(values_only=True))
    assert rows[0] == LEDGER_HEADINGS
    assert len(rows) == 2
    assert rows[1][:9] == (1, f"#{number}", "王秀兰", "新城社区/第一网格", rows[1][4], "需要一副老花镜",
                           "李建国", "市税务局", "已认领")
    assert rows[1][9]  # 认领时间


def test_the_monthly_report_has_its_sheets(client, wishes):
    log_in(client, "boss")
    book = load_workbook(io.BytesIO(client.get("/admin/export/report.xlsx").data))
    assert [s.title for s in book.worksheets][0] == "月度汇总"
    assert {"共建单位", "荣誉榜", "类别", "办理时长"} <= {s.title for s in book.worksheets}
    monthly = list(book.worksheets[0].iter_rows(values_only=True))
    assert monthly[0] == ("月份", "征集", "发布", "认领", "完成", "确认")
    assert sum(row[1] for row in monthly[1:]) == 3


# --- the command line ---------------------------------------------------------------------


def test_staff_add_from_the_command_line(app, world):
    from click.testing import CliRunner

    from cli import main

    runtime = app.extensions["wishbot"]
    runner = CliRunner()
    result = runner.invoke(main, ["staff", "add", "dongshan", "--role", "community", "--community", "东山社区"],
                           input="long-enough-1\nlong-enough-1\n", obj=runtime)
    assert result.exit_code == 0, result.output
    with app.extensions["wishbot"].db.sessions() as session:
        login = session.scalar(select(StaffUser).where(StaffUser.username == "dongshan"))
        assert login.community.name == "东山社区" and login.person is not None
        assert login.person.has_role("gridworker")
    again = runner.invoke(main, ["staff", "add", "dongshan", "--role", "admin", "--password", "long-enough-1"],
                          obj=runtime)
    assert again.exit_code != 0 and "已存在" in again.output
    unknown = runner.invoke(main, ["staff", "add", "x", "--role", "community", "--community", "没有社区",
                                   "--password", "long-enough-1"], obj=runtime)
    assert unknown.exit_code != 0 and "没有这个社区" in unknown.output
    linked = runner.invoke(main, ["staff", "add", "liu", "--role", "gridworker", "--grid", "新城社区/第一网格",
                                  "--openid", "o-liu", "--password", "long-enough-1"], obj=runtime)
    assert linked.exit_code == 0, linked.output
    with app.extensions["wishbot"].db.sessions() as session:
        login = session.scalar(select(StaffUser).where(StaffUser.username == "liu"))
        assert login.person.openid == "o-liu"


def test_proof_photos_show_on_the_wish_page_within_the_scope(app, client, chat, wishes):
    from models import Claim, Proof

    number = wishes["o-wang"]
    chat.say("o-liu", f"审核 {number} 通过")
    chat.say("o-li", f"认领 {number}")
    chat.say("o-li", f"完成 {number}")
    with app.extensions["wishbot"].db.transaction() as session:
        claim = session.scalar(select(Claim).where(Claim.wish_id == number))
        proof = Proof(claim_id=claim.id, media_id="m-1", image=b"\x89PNG fake", content_type="text/html")
        session.add(proof)
        session.flush()
        proof_id = proof.id
    log_in(client, "liufang")
    page = client.get(f"/admin/wishes/{number}").get_data(as_text=True)
    assert f"/admin/wishes/proofs/{proof_id}" in page
    image = client.get(f"/admin/wishes/proofs/{proof_id}")
    assert image.data == b"\x89PNG fake"
    assert image.mimetype == "image/jpeg"  # a stored non-image type is never served as such
    assert "default-src 'self'" in image.headers["Content-Security-Policy"]
    other = app.test_client()
    log_in(other, "zhouqiang")
    assert other.get(f"/admin/wishes/proofs/{proof_id}").status_code == 404


def test_a_long_ledger_is_counted_only_up_to_a_cap(client, wishes, monkeypatch):
    import sys

    ledger = sys.modules["web.ledger"]  # `web.ledger` the attribute is the blueprint

    monkeypatch.setattr(ledger, "COUNT_CAP", 2)
    monkeypatch.setattr(ledger, "PAGE_SIZE", 1)
    log_in(client, "boss")
    page = client.get("/admin/wishes/").get_data(as_text=True)
    assert "超过 2 条" in page and "第 1 / 2+ 页" in page
    third = client.get("/admin/wishes/?page=3").get_data(as_text=True)  # beyond the counted pages
    assert f"#{min(wishes.values())}" in third and "第 3 / 4+ 页" in third
    monkeypatch.setattr(ledger, "COUNT_CAP", 10)
    assert "共 3 条" in client.get("/admin/wishes/").get_data(as_text=True)
