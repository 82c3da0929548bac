"""Menus by role: `wishbot menu push` creates the tags, the default menu and a personalised
menu per tag, and tags everyone (at most 50 openids a call); a role change re-tags the person
after commit. Against a local stand-in for WeChat's menu and tag APIs."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug import Request, Response

from composition.menus import push_menus
from bot.outbound.official import OfficialAccountAPI
from bot.outbound.tokens import MemoryTokenStore
from handlers import directory
from models import Person

from .conftest import make_settings, wait_for
from .world import build_world

WISHBOT = str(Path(sys.executable).with_name("wishbot"))
OK = {"errcode": 0, "errmsg": "ok"}


class MenuStandIn:
    """WeChat's menu and tag APIs, keeping state as WeChat would."""

    def __init__(self, httpserver):
        self.tags: dict[str, int] = {"星标组": 2}  # WeChat's own tag
        self.members: dict[int, set[str]] = {}
        self.default: list | None = None
        self.conditional: list[dict] = []
        self.batches: list[int] = []
        httpserver.expect_request("/cgi-bin/stable_token").respond_with_json({"access_token": "T", "expires_in": 7200})
        for path, handler in {
            "/cgi-bin/tags/get": self.get_tags, "/cgi-bin/tags/create": self.create_tag,
            "/cgi-bin/menu/delete": self.delete, "/cgi-bin/menu/create": self.create_menu,
            "/cgi-bin/menu/addconditional": self.add_conditional,
            "/cgi-bin/tags/members/batchtagging": self.tag, "/cgi-bin/tags/members/batchuntagging": self.untag,
            "/cgi-bin/tags/getidlist": self.idlist,
        }.items():
            httpserver.expect_request(path).respond_with_handler(self._checked(handler))
        httpserver.expect_request("/cgi-bin/message/custom/send").respond_with_json(OK)

    @staticmethod
    def _checked(handler):
        def answer(request: Request) -> Response:
            assert request.args["access_token"] == "T"
            body = json.loads(request.data) if request.data else {}
            return Response(json.dumps(handler(body), ensure_ascii=False), content_type="application/json")
        return answer

    def get_tags(self, _):
        return {"tags": [{"id": i, "name": n, "count": len(self.members.get(i, ()))} for n, i in self.tags.items()]}

    def create_tag(self, body):
        name = body["tag"]["name"]
        if name in self.tags:
            return {"errcode": 45157, "errmsg": "invalid tag name"}
        self.tags[name] = 100 + len(self.tags)
        return {"tag": {"id": self.tags[name], "name": name}}

    def delete(self, _):
        self.default, self.conditional = None, []
        return OK

    def create_menu(self, body):
        assert len(body["button"]) <= 3
        self.default = body["button"]
        return OK

    def add_conditional(self, body):
        if self.default is None:
            return {"errcode": 65303, "errmsg": "there is no selfmenu, please create selfmenu first"}
        self.conditional.append(body)
        return {"menuid": str(400 + len(self.conditional))}

    def tag(self, body):
        assert len(body["openid_list"]) <= 50
        self.batches.append(len(body["openid_list"]))
        self.members.setdefault(body["tagid"], set()).update(body["openid_list"])
        return OK

    def untag(self, body):
        self.members.get(body["tagid"], set()).difference_update(body["openid_list"])
        return OK

    def idlist(self, body):
        return {"tagid_list": [i for i, members in self.members.items() if body["openid"] in members]}

    def tagged(self, name: str) -> set[str]:
        return self.members.get(self.tags[name], set())


@pytest.fixture
def menus(httpserver):
    return MenuStandIn(httpserver)


def keys(buttons: list[dict]) -> list[str]:
    return [b["key"] for button in buttons for b in (button.get("sub_button") or [button])]


def test_menu_push_creates_menus_per_role_and_tags_everyone(app, menus, httpserver):
    runtime = app.extensions["wishbot"]
    build_world(runtime.db)
    with runtime.db.transaction() as session:
        for n in range(120):  # more than two batches of volunteers
            directory.add_person(session, f"o-m{n:03}", "member", f"志愿者{n}", community="新城社区")
    api = runtime.outbound.official
    with runtime.db.sessions() as session:
        counts = push_menus(api, session)
    assert counts == {"居民": 3, "志愿者": 122, "网格员": 2}
    assert menus.batches.count(50) == 2 and max(menus.batches) <= 50
    assert keys(menus.default) == ["许愿", "我的心愿", "帮助"]
    rules = {m["matchrule"]["tag_id"]: keys(m["button"]) for m in menus.conditional}
    assert [m["matchrule"]["tag_id"] for m in menus.conditional] == [
        str(menus.tags[name]) for name in ("居民", "志愿者", "网格员")]  # the grid workers' newest: it wins
    assert rules[str(menus.tags["志愿者"])][:2] == ["心愿列表", "我的认领"]
    assert "统计" in rules[str(menus.tags["网格员"])] and "认领" not in rules[str(menus.tags["网格员"])]
    assert menus.tagged("网格员") == {"o-liu", "o-zhou"} and "o-wang" in menus.tagged("居民")
    for buttons in [menus.default] + [m["button"] for m in menus.conditional]:  # every key a command
        from handlers import ROUTER
        assert all(ROUTER.match(key) is not None for key in keys(buttons))

    # Pushed again: the same tags (none created twice), the menus replaced.
    with runtime.db.sessions() as session:
        push_menus(api, session)
    assert len(menus.conditional) == 3 and len(menus.tags) == 4


@pytest.fixture
def app(sqlite_url, httpserver):
    from app import create_app

    app = create_app(make_settings(sqlite_url, httpserver.url_for("").rstrip("/")))
    yield app
    app.extensions["wishbot"].jobs.join()
    app.extensions["wishbot"].jobs.close()
    app.extensions["wishbot"].db.dispose()


def test_an_approved_volunteer_is_retagged_after_commit(app, menus):
    from .chat import Chat

    runtime = app.extensions["wishbot"]
    build_world(runtime.db)
    with runtime.db.sessions() as session:
        push_menus(runtime.outbound.official, session)
    chat = Chat(app.test_client(), app, None)
    assert chat.say("o-new", "报到 张伟 市税务局 13911112222 新城社区").startswith("收到您的报到申请 R1")
    assert "o-new" not in menus.tagged("志愿者")
    assert chat.say("o-liu", "审核 R1 通过") == "报到申请 R1 已通过，张伟 成为志愿者，已通知本人。"
    wait_for(lambda: "o-new" in menus.tagged("志愿者"))
    assert "o-new" in menus.tagged("居民")  # residents keep their tag; WeChat shows the newest matching menu


def test_menu_push_from_the_command_line(tmp_path, menus, httpserver):
    url = f"sqlite:///{tmp_path / 'menu.sqlite3'}"
    env = {**os.environ, "WISHBOT_DATABASE_URL": url, "WECHAT_APPID": "wxapp", "WECHAT_SECRET": "s",
           "WISHBOT_WECHAT_API_BASE": httpserver.url_for("").rstrip("/")}
    env.pop("WISHBOT_REDIS_URL", None)
    run = lambda *args: subprocess.run([WISHBOT, *args], env=env, cwd=tmp_path, capture_output=True,  # noqa: E731
                                       text=True, timeout=60)
    assert run("init-db").returncode == 0
    assert run("community", "add", "新城社区").returncode == 0
    assert run("person", "add", "o-liu", "--role", "gridworker", "--name", "刘芳", "--community", "新城社区",
               "--wecom-userid", "liufang").returncode == 0
    result = run("menu", "push")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "menus pushed; tagged 居民 0, 志愿者 0, 网格员 1"
    assert menus.tagged("网格员") == {"o-liu"}
    without = subprocess.run([WISHBOT, "menu", "push"], env={**env, "WECHAT_SECRET": ""}, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)
    assert without.returncode != 0 and "WECHAT_SECRET" in without.stderr
