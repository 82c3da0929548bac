"""Both identities in the directory: the roster import and export, the dashboard's roster page
(show and set), and the directory functions the CLI calls."""
from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from handlers import directory
from handlers.roster import import_people
from models import BadInput, Person

from .test_dashboard import csrf, log_in


def person(app, **where) -> Person | None:
    with app.extensions["wishbot"].db.sessions() as session:
        (column, value), = where.items()
        return session.scalar(select(Person).where(getattr(Person, column) == value))


def test_a_roster_row_may_carry_a_wecom_userid_or_only_that(app, world):
    with app.extensions["wishbot"].db.transaction() as s:
        import_people(s, [
            {"openid": "", "wecom_userid": "zhangwei", "role": "gridworker", "name": "张伟", "grid": "新城社区/第二网格"},
            {"openid": "o-li", "wecom_userid": "lijianguo", "role": "resident", "name": "李建国"},
        ])
    zhang = person(app, wecom_userid="zhangwei")
    assert zhang.openid is None and zhang.has_role("gridworker")
    li = person(app, openid="o-li")
    assert li.wecom_userid == "lijianguo" and li.role_set == {"member", "resident"}


def test_one_identity_belongs_to_one_person(app, world):
    with app.extensions["wishbot"].db.transaction() as s:
        directory.add_person(s, None, "member", "张伟", wecom_userid="zhangwei", community="新城社区")
    with pytest.raises(BadInput, match="属于两个不同的人"):
        with app.extensions["wishbot"].db.transaction() as s:
            directory.add_person(s, "o-li", "gridworker", "李建国", wecom_userid="zhangwei")
    with pytest.raises(BadInput, match="已经属于张伟"):
        with app.extensions["wishbot"].db.transaction() as s:
            directory.set_identities(s, s.scalar(select(Person).where(Person.openid == "o-wang")), None, "zhangwei")
    assert person(app, openid="o-wang").wecom_userid is None


def test_the_roster_page_shows_and_sets_both(app, client, staff):
    log_in(client, "liufang")
    wang = person(app, openid="o-wang")
    response = client.post(f"/admin/people/{wang.id}/identities", data={
        "csrf_token": csrf(client, "/admin/people/"), "openid": "o-wang", "wecom_userid": "wangxiulan"})
    assert response.status_code == 302
    page = client.get("/admin/people/?q=王秀兰").get_data(as_text=True)
    assert "公众号、企业微信 wangxiulan" in page
    assert person(app, openid="o-wang").wecom_userid == "wangxiulan"
    rows = list(csv.reader(io.StringIO(client.get("/admin/people/export.csv").data.decode("utf-8-sig"))))
    assert rows[0][-1] == "wecom_userid" and any(r[0] == "o-wang" and r[-1] == "wangxiulan" for r in rows)

    sun = person(app, openid="o-sun")  # 东山社区: not 刘芳's grid
    response = client.post(f"/admin/people/{sun.id}/identities", data={
        "csrf_token": csrf(client, "/admin/people/"), "wecom_userid": "sun"})
    assert response.status_code == 404 and person(app, openid="o-sun").wecom_userid is None
    response = client.post(f"/admin/people/{wang.id}/identities", data={"wecom_userid": "x"})
    assert response.status_code == 400 and person(app, openid="o-wang").wecom_userid == "wangxiulan"
