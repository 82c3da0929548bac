"""Printed QR codes: `wishbot qr` against a local stand-in for WeChat's API, the poster it
writes, and what a follow or a scan with the code's scene does."""
from __future__ import annotations

import io
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import select

from bot.channels import simulate
from bot.poster import HEIGHT, WIDTH, make_code, qr_box
from handlers.help import WELCOME
from models import Person, Wish

from .world import session_of

WISHBOT = str(Path(sys.executable).with_name("wishbot"))
QR_URL = "http://weixin.qq.com/q/02abcDEFghIJk10000w07x"


@pytest.fixture
def cli(tmp_path, httpserver):
    env = {**os.environ, "WISHBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'qr.sqlite3'}",
           "WISHBOT_WECHAT_API_BASE": httpserver.url_for("").rstrip("/"),
           "WECHAT_APPID": "wx-test", "WECHAT_SECRET": "secret", "WECHAT_TOKEN": "token"}
    env.pop("WISHBOT_REDIS_URL", None)

    def wishbot(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([WISHBOT, *args], env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)

    for command in (["init-db"], ["community", "add", "新城社区"], ["grid", "add", "新城社区", "第一网格"],
                    ["grid", "add", "新城社区", "第二网格"]):
        assert wishbot(*command).returncode == 0
    httpserver.expect_request("/cgi-bin/stable_token", method="POST").respond_with_json(
        {"access_token": "TOKEN-Q", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/qrcode/create", method="POST").respond_with_json(
        {"ticket": "gQH47joAAAAAAAAAASxodHRw", "url": QR_URL})
    return wishbot


def test_qr_creates_a_permanent_code_and_a_printable_poster(cli, httpserver, tmp_path):
    result = cli("qr", "新城社区/第二网格", "--out", "poster.png")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "scene r:1/2\nposter poster.png\n"
    [(request, _)] = [(r, a) for r, a in httpserver.log if r.path == "/cgi-bin/qrcode/create"]
    assert request.args["access_token"] == "TOKEN-Q"
    assert json.loads(request.data) == {"action_name": "QR_LIMIT_STR_SCENE",
                                        "action_info": {"scene": {"scene_str": "r:1/2"}}}

    poster = Image.open(io.BytesIO((tmp_path / "poster.png").read_bytes())).convert("L")
    assert poster.size == (WIDTH, HEIGHT)
    code = make_code(QR_URL)
    box = qr_box(code)
    modules = list(code.matrix_iter(border=0))
    for row, bits in enumerate(modules):
        for col, dark in enumerate(bits):
            x = box.left + col * box.module + box.module // 2
            y = box.top + row * box.module + box.module // 2
            assert (poster.getpixel((x, y)) < 128) == bool(dark), (row, col)
    # The title (the place's name) and the instruction line are drawn above and below the code.
    title = poster.crop((0, 100, WIDTH, box.top - box.module * 4))
    below = poster.crop((0, box.top + box.size * box.module + box.module * 4, WIDTH, HEIGHT))
    assert title.getextrema()[0] < 64 and below.getextrema()[0] < 64


def test_qr_for_members_and_bad_places(cli):
    result = cli("qr", "新城社区", "--role", "member")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "scene m:1\nposter qr-m-1.png\n"
    result = cli("qr", "没有的社区")
    assert result.returncode != 0 and "没有这个社区" in result.stderr
    result = cli("qr", "新城社区/第九网格")
    assert result.returncode != 0 and "新城社区没有这个网格：第九网格" in result.stderr


_moments = itertools.count(1_800_000_000)


def scan(chat, openid: str, event: str, key: str, create_time: int | None = None):
    # Events are told apart by sender, CreateTime and the event: each scan here is a moment of its own.
    moment = next(_moments) if create_time is None else create_time
    return chat.post(simulate.build_event(openid, event, event_key=key, create_time=moment))


def test_a_location_report_in_the_same_second_does_not_swallow_the_scan(chat, app):
    """An account reporting location sends LOCATION as the follower arrives: both events carry the
    same sender and CreateTime, and neither is a retry of the other."""
    moment = next(_moments)
    assert scan(chat, "o-new", "LOCATION", "", create_time=moment) is None
    assert scan(chat, "o-new", "subscribe", "qrscene_r:1/2", create_time=moment).startswith(
        "欢迎来到微心愿助手！您已登记在新城社区第二网格。")
    # WeChat's retry of the scan is still one delivery: the same answer, nothing changed twice.
    assert scan(chat, "o-new", "subscribe", "qrscene_r:1/2", create_time=moment).startswith(
        "欢迎来到微心愿助手！您已登记在新城社区第二网格。")
    with session_of(app) as s:
        assert s.scalar(select(Person).where(Person.openid == "o-new")).grid.label == "新城社区/第二网格"


def test_following_through_a_grid_code_places_the_newcomer_with_no_questions(chat, app):
    assert scan(chat, "o-new", "subscribe", "qrscene_r:1/2") == (
        "欢迎来到微心愿助手！您已登记在新城社区第二网格。有困难直接告诉我您需要什么，比如：家里灯泡坏了，想请人来换一下。")
    assert chat.say("o-new", "许愿 需要一个轮椅") == "收到您的心愿 #1，网格员审核后会发布。"
    with session_of(app) as s:
        wish = s.get(Wish, 1)
        assert (wish.grid.label, wish.status) == ("新城社区/第二网格", "pending_review")


def test_a_member_code_starts_registration_there(chat, app):
    assert scan(chat, "o-new", "subscribe", "qrscene_m:2") == (
        "欢迎来东山社区报到（双报到）！请发：报到 张明 市税务局 13912345678（姓名 单位 手机号），审核通过后就可以认领心愿了。")
    assert chat.say("o-new", "报到 张明 市税务局 13912345678") == "收到您的报到申请 R1（东山社区），审核通过后会通知您。"
    # A follower of another community scanning it is told to name the community.
    assert scan(chat, "o-wang", "SCAN", "m:2") == (
        "欢迎来东山社区报到（双报到）！请发：报到 张明 市税务局 13912345678 东山社区（姓名 单位 手机号），"
        "审核通过后就可以认领心愿了。")
    assert scan(chat, "o-li", "SCAN", "m:1") == "您已经是新城社区的志愿者了。发「心愿列表」看看可以认领的心愿。"


def test_a_follower_scanning_a_grid_code_gets_the_grid_and_unknown_scenes_change_nothing(chat, app):
    chat.say("o-new", "你好")  # a follower already, in no community yet
    assert scan(chat, "o-new", "SCAN", "r:2/3").startswith("欢迎来到微心愿助手！您已登记在东山社区第一网格。")
    assert scan(chat, "o-new2", "subscribe", "qrscene_r:1/3") == WELCOME  # 3 is 东山社区's grid
    assert scan(chat, "o-new2", "SCAN", "whatever") is None
    with session_of(app) as s:
        assert s.scalar(select(Person).where(Person.openid == "o-new2")).community_id is None
