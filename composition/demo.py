"""`wishbot demo`: a fresh SQLite database seeded from the articles, served with in-process jobs."""
from __future__ import annotations

import logging
import secrets
import shutil
import sys
from pathlib import Path

import click
from sqlalchemy import func, select

from bot.say import DEMO_AES_KEY, DEMO_APPID, DEMO_TOKEN
from bot.schema import upgrade
from bot.settings import Settings
from handlers import directory
from handlers.context import Context
from handlers.wishes import new_wish
from models import Person, Wish

from .demo_history import seed_history

STREETS = {
    "新兴街道": {"新城社区": ["第一网格", "第二网格"], "新兴社区": ["明珠花园第二网格"]},
    "向阳街道": {"东山社区": ["东山花园网格", "河西新苑网格"], "北寿社区": ["第一网格"], "福民社区": ["第一网格"],
                 "福阳社区": ["第一网格"]},
    "南康街道": {"南康社区": ["第一网格"], "站前社区": ["第一网格"]},
}
UNITS = ["市税务局", "市司法局", "市公安局南康分局", "市税务局稽查局", "市实验幼儿园"]

# openid, role, name, phone, community, grid, unit, address
PEOPLE = [
    ("demo-wang", "resident", "王秀兰", "13800000001", "新城社区", "第一网格", None, "新城小区3号楼2单元401"),
    ("demo-zhao", "resident", "赵德明", "13800000002", "新城社区", "第一网格", None, "新城小区5号楼1单元102"),
    ("demo-sun", "resident", "孙桂芝", "13800000003", "东山社区", "东山花园网格", None, "东山花园8号楼301"),
    ("demo-li", "member", "李建国", "13900000001", "新城社区", None, "市税务局", None),
    ("demo-chen", "member", "陈晓梅", "13900000002", "新城社区", None, "市司法局", None),
    ("demo-feng", "member", "冯殿利", "13900000003", "东山社区", None, "市税务局稽查局", None),
    ("demo-liu", "gridworker", "刘芳", "13700000001", "新城社区", "第一网格", None, None),
    ("demo-zhou", "gridworker", "周强", "13700000002", "东山社区", "东山花园网格", None, None),
    ("demo-admin", "admin", "社区管理员", None, "新城社区", None, None, None),
]

WISHES = [  # requester, content, how far it gets
    ("demo-wang", "需要一副老花镜，看报纸看不清了", "pending_review"),
    ("demo-zhao", "家里水龙头漏水，想请人帮忙修一下", "published"),
    ("demo-sun", "孩子上三年级，想要一个新书包和文具", "claimed"),
    ("demo-wang", "腿脚不便，想借一个轮椅", "completed"),
    ("demo-zhao", "想请人上门理发", "confirmed"),
    ("demo-sun", "想要一台电视机", "rejected"),
]
CLAIMER = {"新城社区": "demo-li", "东山社区": "demo-feng"}
HISTORY_COMMUNITIES = ["新城社区", "东山社区", "北寿社区", "福民社区", "南康社区"]

# username, role, community, grid, acts as (openid; None: a new person named below)
STAFF = [
    ("admin", "admin", None, None, "demo-admin", None),
    ("xincheng", "community", "新城社区", None, None, "新城社区工作人员"),
    ("liufang", "gridworker", None, "新城社区/第一网格", "demo-liu", None),
]


def seed_staff(session, password: str) -> None:
    from web.auth import add_staff

    for username, role, community, grid, openid, name in STAFF:
        add_staff(session, username, role, password, community=community, grid=grid, openid=openid, name=name)


def seed(session, history: bool = False) -> None:
    """The directory and wishes in every state; with `history`, six months of fulfilled wishes
    before them, so the figures have a past."""
    for street, communities in STREETS.items():
        for community, grids in communities.items():
            directory.add_community(session, community, street)
            for grid in grids:
                directory.add_grid(session, community, grid)
    for unit in UNITS:
        directory.add_unit(session, unit)
    people: dict[str, Person] = {}
    for openid, role, name, phone, community, grid, unit, address in PEOPLE:
        people[openid] = directory.add_person(
            session, openid, role, name, phone=phone, community=community,
            grid=f"{community}/{grid}" if grid else None, unit=unit, address=address)
    if history:
        seed_history(session, HISTORY_COMMUNITIES)
    _seed_wishes(session, people)


def _seed_wishes(session, people: dict[str, Person]) -> None:
    for openid, content, goal in WISHES:
        requester = people[openid]
        ctx = Context(session=session, person=requester, channel="demo")
        wish = new_wish(ctx, content)
        ctx.change(wish, "submit", new=True)
        reviewer = people["demo-liu"] if requester.community.name == "新城社区" else people["demo-zhou"]
        if goal == "pending_review":
            continue
        if goal == "rejected":
            wish.reject(reviewer, "超出微心愿范围，已转民政救助")
            continue
        wish.publish(reviewer)
        if goal == "published":
            continue
        member = people[CLAIMER[requester.community.name]]
        wish.claim_by(member)
        if goal == "claimed":
            continue
        wish.complete_by(member, "已送到家", hours=2)
        if goal == "confirmed":
            wish.confirm(requester, "理得很好，谢谢", 5)
    session.flush()


def conversation(next_wish: int) -> list[tuple[str, str, str]]:
    """The demo's printed conversation, from someone new to a confirmed wish: (openid, text, why)."""
    n = next_wish
    return [
        ("demo-new", "家里灯泡坏了，想请人来换一下", "someone new says what they need"),
        ("demo-new", "新城社区", "which community (a number works too)"),
        ("demo-new", "第一网格", f"which grid: wish #{n} is recorded for review"),
        ("demo-liu", "待审核", "the grid worker's queue"),
        ("demo-liu", f"审核 {n} 通过", "published to the volunteers"),
        ("demo-li", f"认领 {n}", "a member of 市税务局 claims it"),
        ("demo-li", f"完成 {n} 已送到 2小时", "done, with the hours spent"),
        ("demo-new", f"确认 {n} 很好 5分", "the resident confirms"),
        ("demo-li", "我的服务", "the member's service record"),
    ]


def command_path() -> str:
    """How to type `wishbot` from here: plain when it is on PATH, else its path (`.venv/bin/wishbot`)."""
    installed = Path(sys.executable).with_name("wishbot")
    if shutil.which("wishbot") == str(installed):
        return "wishbot"
    try:
        return str(installed.relative_to(Path.cwd()))
    except ValueError:
        return str(installed)


def demo_settings(host: str = "127.0.0.1", port: int = 5000) -> Settings:
    """A fresh ./instance/demo.sqlite3 (the last demo's is removed) and the demo's WeChat keys."""
    instance = Path.cwd() / "instance"
    instance.mkdir(exist_ok=True)
    for stale in instance.glob("demo.sqlite3*"):
        stale.unlink()
    return Settings(
        database_url=f"sqlite:///{instance / 'demo.sqlite3'}", wechat_token=DEMO_TOKEN, wechat_appid=DEMO_APPID,
        wechat_aes_key=DEMO_AES_KEY, demo=True,
        # Group pushes link to the wishes' phone pages; the simulator plays WeChat's authorize page.
        public_url=f"http://{host}:{port}", wechat_oauth_base=f"http://{host}:{port}/sim",
    )


def run_demo(app, host: str, port: int, serve) -> None:
    """Seed the app's database (built by the entry point from demo_settings()), print how to
    try it, and serve it with the entry point's `serve(app, host, port)`."""
    settings = app.extensions["wishbot"].settings
    database = settings.database_url.removeprefix("sqlite:///")
    upgrade(settings.database_url)
    password = secrets.token_urlsafe(9)
    with app.extensions["wishbot"].db.transaction() as session:
        seed(session, history=True)
        seed_staff(session, password)
        next_wish = session.scalar(select(func.max(Wish.id))) + 1
    logging.getLogger("wishbot.push").setLevel(logging.INFO)
    base = f"http://{host}:{port}"
    cli = command_path()
    url = "" if base == "http://127.0.0.1:5000" else f" --url {base}/wechat"
    lines = "\n".join(f'  {cli} say {openid:<9} "{text}"{url}' + (f"   # {why}" if why else "")
                      for openid, text, why in conversation(next_wish))
    click.echo(f"""
微心愿助手 demo

  聊天模拟器 chat simulator   {base}/sim     ← start here: chat as any demo person
  管理台 dashboard            {base}/admin
    logins (password {password}):
      admin     管理员, every community
      xincheng  社区工作人员, 新城社区
      liufang   网格员, 新城社区/第一网格

  database  {database}
  webhook   {base}/wechat   (token {DEMO_TOKEN}, AES key set: safe mode)
  API       {base}/api/wishes   (create a token: WISHBOT_DATABASE_URL=sqlite:///{database} {cli} token create me)
  health    {base}/healthz

Try the whole loop from another terminal, starting as someone new (pushes appear in this log):
{lines}
People: residents demo-wang demo-zhao demo-sun; members demo-li demo-chen demo-feng;
grid workers demo-liu (新城社区/第一网格) demo-zhou (东山社区/东山花园网格); admin demo-admin.
""")
    app.extensions["wishbot"].start_in_process_clock()
    serve(app, host, port)
