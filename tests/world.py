"""A small city for the tests: two communities with grids, units and people."""
from __future__ import annotations

from handlers import directory

VOLUNTEERS_KEY = "xincheng-volunteers"
GRIDWORKERS_KEY = "xincheng-grid-1"
DONGSHAN_KEY = "dongshan-volunteers"


def build_world(db) -> None:
    with db.transaction() as s:
        directory.add_community(s, "新城社区", "新兴街道", robot_url=VOLUNTEERS_KEY)
        directory.add_grid(s, "新城社区", "第一网格", robot_url=GRIDWORKERS_KEY)
        directory.add_grid(s, "新城社区", "第二网格")
        directory.add_community(s, "东山社区", "向阳街道", robot_url=DONGSHAN_KEY)
        directory.add_grid(s, "东山社区", "第一网格")
        directory.add_unit(s, "市税务局")
        directory.add_unit(s, "市司法局")
        add = directory.add_person
        add(s, "o-wang", "resident", "王秀兰", phone="13800000001", grid="新城社区/第一网格",
            address="新城小区3号楼401")
        add(s, "o-zhao", "resident", "赵德明", phone="13800000002", grid="新城社区/第二网格",
            address="新城小区5号楼102")
        add(s, "o-sun", "resident", "孙桂芝", phone="13800000003", grid="东山社区/第一网格")
        add(s, "o-li", "member", "李建国", phone="13900000001", community="新城社区", unit="市税务局")
        add(s, "o-chen", "member", "陈晓梅", phone="13900000002", community="新城社区", unit="市司法局")
        add(s, "o-liu", "gridworker", "刘芳", phone="13700000001", grid="新城社区/第一网格")
        add(s, "o-zhou", "gridworker", "周强", phone="13700000002", grid="东山社区/第一网格")


# --- helpers for the workflow tests (issue 4) --------------------------------------------------

REQUESTER_SECRETS = ("王秀兰", "13800000001", "新城小区3号楼401", "赵德明", "13800000002", "新城小区5号楼102",
                     "孙桂芝", "13800000003")


def add_people(app, *rows: dict) -> None:
    """More people, each a dict of handlers.directory.add_person arguments."""
    with app.extensions["wishbot"].db.transaction() as s:
        for row in rows:
            directory.add_person(s, **row)


def session_of(app):
    """A plain session on the app's database, to check the stored state."""
    return app.extensions["wishbot"].db.sessions()


def assert_no_secrets(pushes: list[str], *secrets: str) -> None:
    """No group push carries a requester's phone number, address or full name."""
    assert pushes, "expected some group pushes"
    for text in pushes:
        for secret in REQUESTER_SECRETS + secrets:
            assert secret not in text, f"{secret!r} leaked into a group push: {text!r}"


def stamps(app, number: int) -> list[str]:
    """When each of wish #number's timeline rows was written, as 查询 shows it (`12-01 07:18`):
    the one part of a timeline reply a test cannot write down in advance."""
    from sqlalchemy import select

    from models import WishEvent, local_time

    with session_of(app) as s:
        return [f"{local_time(at):%m-%d %H:%M}" for at in s.scalars(
            select(WishEvent.created_at).where(WishEvent.wish_id == number).order_by(WishEvent.id))]
