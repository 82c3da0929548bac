"""Roles only rise through an admin: no roster row, dashboard action, registration approval or
chat command gives anyone a role or an area above the actor's own (issue 9, point 1)."""
from __future__ import annotations

import io

from sqlalchemy import select

from models import Person

from .test_dashboard import csrf, log_in
from .test_roster import csv_bytes, xlsx_bytes


def import_rows(client, rows, kind: str = "csv"):
    data = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows)
    return client.post("/admin/people/import", data={
        "csrf_token": csrf(client, "/admin/people/"), "file": (io.BytesIO(data), f"people.{kind}"),
    }, content_type="multipart/form-data")


class Seen:
    """A person as stored: roles, community and grid names (None when unknown)."""

    def __init__(self, row: Person | None):
        self.exists = row is not None
        self.role_set = row.role_set if row else frozenset()
        self.community = row.community.name if row and row.community else None
        self.grid = row.grid.label if row and row.grid else None

    def has_role(self, role: str) -> bool:
        return role in self.role_set


def person(app, openid: str) -> Seen:
    with app.extensions["wishbot"].db.sessions() as session:
        return Seen(session.scalar(select(Person).where(Person.openid == openid)))


def test_a_grid_worker_login_cannot_make_anyone_an_admin_through_the_roster(app, client, staff):
    log_in(client, "liufang")  # grid worker of 新城社区/第一网格
    response = import_rows(client, [
        ["o-liu", "admin", "刘芳", "", "新城社区", "新城社区/第一网格", "", ""],  # herself
        ["o-wang", "admin", "王秀兰", "", "新城社区", "新城社区/第一网格", "", ""],  # a resident of her grid
        ["o-new", "admin", "新人", "", "新城社区", "新城社区/第一网格", "", ""],  # someone new
    ])
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert page.count("不在您负责的社区或网格，或角色高于您自己的") == 3
    assert not person(app, "o-liu").has_role("admin") and not person(app, "o-wang").has_role("admin")
    assert not person(app, "o-new").exists


def test_a_grid_worker_login_cannot_make_staff_of_another_grid_or_of_the_community(app, client, staff):
    log_in(client, "liufang")
    response = import_rows(client, [
        ["o-wang", "gridworker", "王秀兰", "", "新城社区", "新城社区/第二网格", "", ""],  # moved to another grid
        ["o-x1", "gridworker", "张三", "", "新城社区", "", "", ""],  # community staff: above a grid worker
    ], kind="xlsx")
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("角色高于您自己的") == 2
    wang = person(app, "o-wang")
    assert wang.role_set == {"resident"} and wang.grid == "新城社区/第一网格"


def test_a_grid_worker_login_cannot_move_anyone_into_another_community(app, client, staff):
    """A row naming only another community would leave the person on record there (its staff's
    notices, with applicants' phone numbers, would reach them) while still in her grid."""
    log_in(client, "liufang")
    response = import_rows(client, [
        ["o-wang", "member", "王秀兰", "", "东山社区", "", "", ""],  # a resident of her grid
        ["o-liu", "member", "刘芳", "", "东山社区", "", "", ""],  # herself
    ])
    assert response.status_code == 422
    assert response.get_data(as_text=True).count("不在您负责的社区或网格") == 2
    for openid in ("o-wang", "o-liu"):
        seen = person(app, openid)
        assert (seen.community, seen.grid) == ("新城社区", "新城社区/第一网格") and not seen.has_role("member")


def test_a_person_moved_to_another_community_leaves_their_grid(app, client, staff):
    log_in(client, "boss")
    assert import_rows(client, [["o-wang", "member", "王秀兰", "", "东山社区", "", "", ""]]).status_code == 302
    wang = person(app, "o-wang")
    assert (wang.community, wang.grid) == ("东山社区", None) and wang.has_role("member")


def test_community_staff_may_make_grid_workers_of_their_grids_but_no_admins(app, client, staff):
    log_in(client, "xincheng")
    refused = import_rows(client, [["o-zhao", "admin", "赵德明", "", "新城社区", "", "", ""]])
    assert refused.status_code == 422 and not person(app, "o-zhao").has_role("admin")
    refused = import_rows(client, [["o-zhou", "member", "周强", "", "新城社区", "", "", ""]])  # 东山's grid worker
    assert refused.status_code == 422 and person(app, "o-zhou").community == "东山社区"
    accepted = import_rows(client, [["o-zhao", "gridworker", "赵德明", "", "新城社区", "新城社区/第二网格", "", ""]])
    assert accepted.status_code == 302
    assert person(app, "o-zhao").role_set == {"gridworker", "resident"}


def test_an_admin_login_may_make_admins(app, client, staff):
    log_in(client, "boss")
    assert import_rows(client, [["o-zhao", "admin", "赵德明", "", "", "", "", ""]]).status_code == 302
    assert person(app, "o-zhao").has_role("admin")


def test_a_grid_worker_approved_in_another_community_becomes_a_member_there_and_keeps_their_grid(chat, app):
    assert chat.say("o-sun", "许愿 想要一个书包") == "收到您的心愿 #1，网格员审核后会发布。"
    assert chat.say("o-liu", "报到 刘芳 市税务局 13700000001 东山社区") == \
        "收到您的报到申请 R1（东山社区），审核通过后会通知您。"
    assert chat.say("o-zhou", "审核 R1 通过") == "报到申请 R1 已通过，刘芳 成为志愿者，已通知本人。"
    # A member of 东山社区 now, never its staff: she cannot publish its wishes ...
    assert chat.say("o-liu", "审核 1 通过") == "心愿 #1 不在您负责的网格。"
    assert chat.say("o-liu", "查询 1") == "心愿 #1 还没有发布，暂时不能查看。"
    assert chat.say("o-zhou", "审核 1 通过") == "心愿 #1 已发布到志愿者群。"
    assert chat.say("o-liu", "心愿列表") == (
        "待认领的心愿：\n#1【学习用品】想要一个书包（孙**）\n想认领哪个，就回复「认领」加编号，比如：认领 1")
    # ... and still the grid worker of her own grid.
    assert chat.say("o-liu", "统计").startswith("新城社区/第一网格 ")
    liu = person(chat.app, "o-liu")
    assert liu.role_set == {"gridworker", "member"} and liu.grid == "新城社区/第一网格"


def test_a_member_approved_in_another_community_moves_there(chat, app):
    assert chat.say("o-li", "报到 李建国 市税务局 13900000001 东山社区") == \
        "收到您的报到申请 R1（东山社区），审核通过后会通知您。"
    assert chat.say("o-zhou", "审核 R1 通过") == "报到申请 R1 已通过，李建国 成为志愿者，已通知本人。"
    assert person(chat.app, "o-li").community == "东山社区"
