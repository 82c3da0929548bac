"""The authorization matrix, generated from what the app exposes (issue 9, point 2).

Chat: every command of the router × every kind of actor. Dashboard: every route of Flask's url_map
× every kind of login. A command or a route without a row here fails `test_every_command_has_a_row`
/ `test_every_route_has_a_row`, so nothing new is exposed without deciding who may use it.

One wish (#1) of 王秀兰 in 新城社区/第一网格 is the target; its text carries a phone number, so the
matrix also says who reads it as written and who reads it scrubbed. The actors act in order,
refused ones first, so a state change by an allowed actor never hides a refusal. Every reply is
checked word for word: a refusal by its outcome's text, an allowed actor's against REPLIES.
"""
from __future__ import annotations

import csv
import html
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from handlers import ROUTER
from models import Claim, ExportJob, Person, Proof, Registration, StaffUser, Wish, local_time, utcnow
from web.auth import add_staff

from .conftest import APPID, STAFF_PASSWORD, make_settings
from .phone_oauth import WeChatOAuth, tampered
from .test_dashboard import csrf, log_in
from .test_phone_flow import open_as
from .replies import HELP
from .test_roster import csv_bytes
from .world import add_people, stamps

PUBLIC = "https://wish.example.org"  # the same as tests/test_phone_flow.py's


@pytest.fixture
def database_url(sqlite_url):
    """Authorization is decided in Python, the same on both databases: SQLite keeps it quick."""
    return sqlite_url


@pytest.fixture
def settings(database_url, wechat_api, tmp_path):
    """With WISHBOT_PUBLIC_URL, so the wishes' phone pages are on; WeChat's web authorisation is
    a local stand-in (tests/phone_oauth.py). Export jobs leave their files under the test's own
    directory."""
    base = wechat_api.url_for("").rstrip("/")
    return make_settings(database_url, base, public_url=PUBLIC, wechat_oauth_base=base,
                         export_dir=str(tmp_path / "exports"))


CONTENT = "需要一副老花镜，儿子电话139-1111-2222"
SCRUBBED = "需要一副老花镜，儿子电话139****2222"

# --- chat -------------------------------------------------------------------------------------

ACTORS = {  # kind -> OpenID
    "stranger": "o-stranger",          # never seen before: a resident of nowhere
    "resident": "o-wang",              # the wish's requester
    "member": "o-li",                  # a volunteer of 新城社区
    "gw_this_grid": "o-liu",           # grid worker of 新城社区/第一网格
    "gw_other_grid": "o-ma",           # grid worker of 新城社区/第二网格
    "gw_other_community": "o-zhou",    # grid worker of 东山社区/第一网格
    "staff_this_community": "o-xc",    # community staff of 新城社区 (a grid worker without a grid)
    "staff_other_community": "o-ds",   # community staff of 东山社区
    "admin": "o-admin",
}

ROLE, AREA, NOT_THEIRS, OK, SEES, SCRUBS = "role", "area", "not theirs", "ok", "sees", "scrubs"
STAFF_OF_IT = ("gw_this_grid", "staff_this_community", "admin")
STAFF_ELSEWHERE = ("gw_other_grid", "gw_other_community", "staff_other_community")


def row(default: str, **cells: str) -> dict[str, str]:
    return {actor: cells.get(actor, default) for actor in ACTORS}


EVERYONE = row(OK)
RESIDENTS = row(ROLE, stranger=OK, resident=OK)
MEMBERS = row(ROLE, member=OK)
STAFF = row(ROLE, **{a: OK for a in STAFF_OF_IT + STAFF_ELSEWHERE})
STAFF_OF_THE_WISH = row(ROLE, **{a: OK for a in STAFF_OF_IT}, **{a: AREA for a in STAFF_ELSEWHERE})

# keyword -> (the wish's state before, the message ({n}: the actor's number), outcome per actor)
CHAT_MATRIX = {
    "帮助": (None, "帮助", EVERYONE),
    "许愿": (None, "许愿 需要一个助听器", RESIDENTS),
    "我的心愿": ("pending", "我的心愿", RESIDENTS),
    "我的心愿是": (None, "我的心愿是需要一个助听器", RESIDENTS),
    "撤回": ("pending", "撤回 1", row(ROLE, stranger=NOT_THEIRS, resident=OK)),
    "确认": ("completed", "确认 1 很好", {**STAFF_OF_THE_WISH, "stranger": NOT_THEIRS, "resident": OK}),
    "心愿列表": ("published", "心愿列表", MEMBERS),
    "认领": ("published", "认领 1", MEMBERS),
    "放弃": ("claimed", "放弃 1", MEMBERS),
    "完成": ("claimed", "完成 1", MEMBERS),
    "我的认领": ("claimed", "我的认领", MEMBERS),
    "查询": ("published", "查询 1", row(SCRUBS, resident=SEES, **{a: SEES for a in STAFF_OF_IT})),
    "报到": (None, "报到 张明{n} 市税务局 1391234567{n} 新城社区", EVERYONE),
    "审核": ("pending", "审核 1 通过", STAFF_OF_THE_WISH),
    "代许愿": (None, "代许愿 张桂兰 1381234567{n} 需要一个助听器", STAFF),
    "派单": ("published", "派单 1 李建国", STAFF_OF_THE_WISH),
    "代完成": ("claimed", "代完成 1 李建国 2小时", STAFF_OF_THE_WISH),
    "代放弃": ("claimed", "代放弃 1 李建国", STAFF_OF_THE_WISH),
    "分类": ("published", "分类 1 生活用品", STAFF_OF_THE_WISH),
    "紧急": ("published", "紧急 1 3", STAFF_OF_THE_WISH),
    "共性": ("published", "共性 1 20人", STAFF_OF_THE_WISH),
    "统计": (None, "统计", STAFF),
    "工时": ("completed", "工时 1 李建国 2", STAFF_OF_THE_WISH),
    "我的服务": ("completed", "我的服务", MEMBERS),
    "待审核": ("pending", "待审核", STAFF),  # lists only the actor's area (tests/test_queue.py)
    "我的网格": ("published", "我的网格", STAFF),
}
ORDER = (ROLE, AREA, NOT_THEIRS, SCRUBS, SEES, OK)  # refusals first
ALLOWED = (OK, SEES, SCRUBS)


def same(reply: str, *actors: str) -> dict[str, str]:
    return dict.fromkeys(actors, reply)


def scoped_reply(template: str) -> dict[str, str]:
    """A staff command's reply naming the actor's area ({where})."""
    return {actor: template.replace("{where}", where) for actor, where in STAFF_AREAS.items()}


STAFF_AREAS = {"gw_this_grid": "新城社区/第一网格", "gw_other_grid": "新城社区/第二网格",
               "gw_other_community": "东山社区/第一网格", "staff_this_community": "新城社区",
               "staff_other_community": "东山社区", "admin": "全部社区"}
ASK_COMMUNITY = ("您是想许这个心愿吗：需要一个助听器\n是的话，请告诉我您住在哪个社区，回复数字或社区名：\n"
                 "1. 新城社区\n2. 东山社区\n（不是就回复「不是」）")
RECEIVED = "收到您的心愿 #1，网格员审核后会发布。"
CARD = "心愿 #1（待认领）\n{content}\n类别：医疗器械·一般\n社区网格：新城社区/第一网格\n许愿人：{requester}"
AS_WRITTEN = CARD.format(content=CONTENT, requester="王秀兰，13800000001，新城小区3号楼401")
# The timeline, for its staff ({at0}, {at1}: when each row was written, from tests/world.py's stamps).
TIMELINE = "\n· {at0} 王秀兰（微信）提交心愿：待审核\n· {at1} 刘芳（微信）审核发布：待审核→待认领"
NOTHING_TO_REVIEW = "{where}现在没有等您审核的心愿和报到申请。"
TO_REVIEW = ("{where}等您审核 1 条：\n心愿 #1 需要一副老花镜，儿子电话…（王**，{day}）\n"
             "回复「审核 1 通过」或「审核 1 驳回 原因」。")
GRID = ("{where}：\n待审核 0 个\n待认领 {open}\n已认领 0 个\n超过3天没人认领 0 个\n认领超过7天未完成 0 个\n"
        "发「待审核」看要审核的心愿，发「查询 12」看12号心愿。")
PROXY = "已为 张桂兰 登记心愿 #{}，已发布到志愿者群。有消息会发给您转告。"
REGISTERED = "收到您的报到申请 R{}（新城社区），审核通过后会通知您。"

# keyword -> the exact reply each allowed actor gets, in the matrix's order (refusals first, so
# the first allowed actor makes the change and those after it find it made). Placeholders: {n},
# the actor's number in that order; {month}, {year}, {day} (12月1日), {mmdd} (12-01): today's,
# local; {at0}, {at1}: the wish's timeline stamps.
REPLIES = {
    "帮助": {**same(HELP["resident"], "stranger", "resident"), "member": HELP["member"],
             **same(HELP["gridworker"], *STAFF_OF_IT, *STAFF_ELSEWHERE)},
    "许愿": {"stranger": ASK_COMMUNITY, "resident": RECEIVED},
    "我的心愿": {"stranger": "您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。",
                 "resident": "您的心愿：\n#1 需要一副老花镜，儿子电话… —— 待审核"},  # as written: hers
    "我的心愿是": {"stranger": ASK_COMMUNITY, "resident": RECEIVED},
    "撤回": {"resident": "心愿 #1 已撤回。"},
    "确认": {"resident": "心愿 #1 已确认圆梦，谢谢您！", **same("心愿 #1 已经确认过了，谢谢您！", *STAFF_OF_IT)},
    "心愿列表": {"member": "待认领的心愿：\n#1【医疗器械】需要一副老花镜，儿子电话139****2222（王**）\n"
                           "想认领哪个，就回复「认领」加编号，比如：认领 1"},
    # The claimer is given the wish as written (and the contact details, privately).
    "认领": {"member": f"认领成功！心愿 #1：{CONTENT}\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"},
    "放弃": {"member": "已放弃心愿 #1，它会重新开放给大家认领。"},
    "完成": {"member": "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。"},
    "我的认领": {"member": "您的认领：\n#1 需要一副老花镜，儿子电话… —— 进行中"},
    "查询": {**same(CARD.format(content=SCRUBBED, requester="王**"), "stranger", "member", *STAFF_ELSEWHERE),
             "resident": AS_WRITTEN, **same(AS_WRITTEN + TIMELINE, *STAFF_OF_IT)},
    "报到": {"stranger": REGISTERED.format(1), "resident": REGISTERED.format(2),
             "member": "您已经是新城社区的志愿者了，不用再报到。",
             **{actor: REGISTERED.format(r) for r, actor in enumerate(
                 ("gw_this_grid", "gw_other_grid", "gw_other_community", "staff_this_community",
                  "staff_other_community", "admin"), 3)}},
    "审核": {"gw_this_grid": "心愿 #1 已发布到志愿者群。",
             **same("心愿 #1 已经审核过了，现在是「待认领」。", "staff_this_community", "admin")},
    # Each grid worker's wish goes to their own community's volunteers; an admin belongs to none.
    "代许愿": {**{actor: PROXY.format(w) for w, actor in enumerate(
        ("gw_this_grid", "gw_other_grid", "gw_other_community", "staff_this_community", "staff_other_community"), 1)},
        "admin": "您没有所属社区，新居民无处登记。请让TA所在网格的网格员代许愿，或先在管理台「花名册」导入这位居民，再代许愿。"},
    "派单": {"gw_this_grid": "心愿 #1 已派给 李建国，已私信通知本人。",
             **same("李建国已经认领了心愿 #1。", "staff_this_community", "admin")},
    "代完成": {"gw_this_grid": "已替 李建国 报告心愿 #1 完成，工时 2小时，已请许愿人确认。",
               **same("李建国已经报告完成心愿 #1 了。", "staff_this_community", "admin")},
    "代放弃": {"gw_this_grid": "已取消 李建国 对心愿 #1 的认领，心愿重新开放认领。",
               **same("李建国对心愿 #1 的认领已经结束了。", "staff_this_community", "admin")},
    "分类": {"gw_this_grid": "心愿 #1 的类别已改为「生活用品」。",
             **same("心愿 #1 的类别本来就是「生活用品」，没有改动。", "staff_this_community", "admin")},
    "紧急": {"gw_this_grid": "心愿 #1 的紧急程度已改为「较急」。",
             **same("心愿 #1 的紧急程度本来就是「较急」，没有改动。", "staff_this_community", "admin")},
    "共性": {"gw_this_grid": "心愿 #1 已设为共性心愿，受益20人。",
             **same("心愿 #1 本来就是共性心愿，受益20人，没有改动。", "staff_this_community", "admin")},
    "统计": scoped_reply("{where} {month}月统计：\n征集 0 个，发布 0 个，认领 0 个，\n完成 0 个，确认圆梦 0 个。"),
    "工时": same("已记录 李建国 在心愿 #1 的工时：2小时（待许愿人确认后核实）。", *STAFF_OF_IT),
    "我的服务": {"member": "李建国，您{year}年的服务记录：\n已核实工时 0 小时，积分 0 分\n完成心愿 1 个\n最近的服务：\n"
                           "· {mmdd} #1 需要一副老花镜，儿子电… 未填工时 待核实"},
    "待审核": {**scoped_reply(NOTHING_TO_REVIEW), **{actor: TO_REVIEW.replace("{where}", STAFF_AREAS[actor])
                                                     for actor in STAFF_OF_IT}},
    "我的网格": {**scoped_reply(GRID.replace("{open}", "0 个")),
                 **{actor: GRID.replace("{where}", STAFF_AREAS[actor]).replace("{open}", "1 个：#1")
                    for actor in STAFF_OF_IT}},
}

SETUP = {  # state -> the transcript that reaches it, said by those allowed to
    None: [],
    "pending": [("o-wang", f"许愿 {CONTENT}")],
    "published": [("o-wang", f"许愿 {CONTENT}"), ("o-liu", "审核 1 通过")],
    "claimed": [("o-wang", f"许愿 {CONTENT}"), ("o-liu", "审核 1 通过"), ("o-li", "认领 1")],
    "completed": [("o-wang", f"许愿 {CONTENT}"), ("o-liu", "审核 1 通过"), ("o-li", "认领 1"), ("o-li", "完成 1")],
    "certified": [("o-wang", f"许愿 {CONTENT}"), ("o-liu", "审核 1 通过"), ("o-li", "认领 1"),
                  ("o-li", "完成 1 2小时"), ("o-wang", "确认 1")],  # verified hours: a certificate may be issued
}


@pytest.fixture
def everyone(app, world):
    add_people(app,
               dict(openid="o-ma", role="gridworker", name="马伟", grid="新城社区/第二网格"),
               dict(openid="o-xc", role="gridworker", name="新城社工", community="新城社区"),
               dict(openid="o-ds", role="gridworker", name="东山社工", community="东山社区"),
               dict(openid="o-admin", role="admin", name="管理员"))


def outcome(keyword: str, reply: str) -> str:
    if reply == f"「{keyword}」不是您能用的命令。发「帮助」看看您能做什么。":
        return ROLE
    if reply == "心愿 #1 不在您负责的网格。":
        return AREA
    if reply == "心愿 #1 不是您提交的。":
        return NOT_THEIRS
    if keyword == "查询":  # the reply itself is checked against REPLIES
        return SEES if CONTENT in reply else SCRUBS if SCRUBBED in reply else reply
    return OK


def test_every_command_has_a_row():
    keywords = [command.keywords[0] for command in ROUTER.commands]
    assert sorted(keywords) == sorted(CHAT_MATRIX), "a command without a row in the matrix (or a stale row)"
    assert sorted(REPLIES) == sorted(CHAT_MATRIX)
    for keyword, (_state, _message, outcomes) in CHAT_MATRIX.items():
        assert set(outcomes) == set(ACTORS), keyword
        assert set(REPLIES[keyword]) == {a for a, o in outcomes.items() if o in ALLOWED}, keyword


def today() -> dict[str, object]:
    now = local_time(utcnow())
    return dict(month=now.month, year=now.year, day=f"{now.month}月{now.day}日", mmdd=f"{now:%m-%d}")


@pytest.mark.parametrize("keyword", [command.keywords[0] for command in ROUTER.commands])
def test_each_command_for_each_actor(chat, everyone, keyword):
    state, message, expected = CHAT_MATRIX[keyword]
    for openid, text in SETUP[state]:
        chat.say(openid, text)
    seen, heard, numbers = {}, {}, {}
    for n, actor in enumerate(sorted(ACTORS, key=lambda a: ORDER.index(expected[a]))):
        numbers[actor] = n
        heard[actor] = chat.say(ACTORS[actor], message.format(n=n))
        seen[actor] = outcome(keyword, heard[actor])
    assert seen == expected
    at = dict(enumerate(stamps(chat.app, 1))) if state else {}
    marks = {**today(), "at0": at.get(0), "at1": at.get(1)}
    want = {actor: reply.format(n=numbers[actor], **marks) for actor, reply in REPLIES[keyword].items()}
    assert {actor: heard[actor] for actor in want} == want


# --- the dashboard and everything else in url_map ------------------------------------------------

LOGINS = {  # kind -> username (None: no session)
    "anonymous": None,
    "admin": "boss",
    "community_this": "xincheng",
    "community_other": "dongshan",
    "gw_this_grid": "liufang",
    "gw_other_grid": "mawei",
    "gw_other_community": "zhouqiang",
}
IN_SCOPE = ("admin", "community_this", "gw_this_grid")
OUT_OF_SCOPE = ("community_other", "gw_other_grid", "gw_other_community")
# A registration names a community: every grid worker of 新城社区 may decide it.
IN_COMMUNITY = ("admin", "community_this", "gw_this_grid", "gw_other_grid")

LOGIN, HOME, DONE, SHOWN, HIDDEN, LISTED, UNLISTED = "login", "home", "done", "shown", "hidden", "listed", "unlisted"
WECHAT = "to WeChat's authorize page"  # a dashboard session is no WeChat identity
REFUSED, UNAUTHORISED, FORBIDDEN, GONE, BAD = "refused", "unauthorised", "forbidden", "gone", "bad"


def logins(default: str, **cells: str) -> dict[str, str]:
    return {kind: cells.get(kind, default) for kind in LOGINS}


def scoped(inside: str, outside: str, anonymous: str = LOGIN, inside_kinds=IN_SCOPE) -> dict[str, str]:
    return {kind: anonymous if kind == "anonymous" else inside if kind in inside_kinds else outside
            for kind in LOGINS}


PAGE = logins(SHOWN, anonymous=LOGIN)
WISH = scoped(SHOWN, HIDDEN)
LIST = scoped(LISTED, UNLISTED)
ACTION = scoped(DONE, HIDDEN)

# (endpoint, method) -> (the wish's state, path, form or JSON, outcome per login)
ROUTE_MATRIX = {
    ("static", "GET"): (None, "/static/none.css", None, logins(GONE)),
    ("admin.static", "GET"): (None, "/admin/static/style.css", None, logins(SHOWN)),
    ("webhook.wechat_verify", "GET"): (None, "/wechat?signature=x&timestamp=1&nonce=1&echostr=e", None,
                                       logins(FORBIDDEN)),
    ("webhook.wechat_receive", "POST"): (None, "/wechat?signature=x&timestamp=1&nonce=1", "<xml/>",
                                         logins(FORBIDDEN)),
    ("webhook.wecom_verify", "GET"): (None, "/wecom", None, logins(GONE)),  # WeCom not configured
    ("webhook.wecom_receive", "POST"): (None, "/wecom", "<xml/>", logins(GONE)),
    # A dashboard session is no API token.
    ("api.get_wish", "GET"): ("pending", "/api/wishes/1", None, logins(UNAUTHORISED)),
    ("api.list_wishes", "GET"): ("pending", "/api/wishes", None, logins(UNAUTHORISED)),
    ("api.healthz", "GET"): (None, "/healthz", None, logins(SHOWN)),
    ("admin.home", "GET"): (None, "/admin/", None, logins(HOME, anonymous=LOGIN)),
    ("admin.login", "GET"): (None, "/admin/login", None, logins(SHOWN)),
    ("admin.login", "POST"): (None, "/admin/login", {"username": "nobody{n}", "password": "wrong-password"},
                              logins(UNAUTHORISED)),
    ("admin.logout", "POST"): (None, "/admin/logout", {}, logins(LOGIN)),
    ("ledger.index", "GET"): ("pending", "/admin/wishes/", None, LIST),
    ("ledger.wish_page", "GET"): ("pending", "/admin/wishes/1", None, WISH),
    ("ledger.proof_image", "GET"): ("proof", "/admin/wishes/proofs/1", None, WISH),
    ("ledger.publish", "POST"): ("pending", "/admin/wishes/1/publish", {"slots": "1"}, ACTION),
    ("ledger.reject", "POST"): ("pending", "/admin/wishes/1/reject", {"reason": "重复"}, ACTION),
    ("ledger.assign", "POST"): ("published", "/admin/wishes/1/assign", {"member": "member"}, ACTION),
    ("ledger.confirm", "POST"): ("completed", "/admin/wishes/1/confirm", {"feedback": "很好"}, ACTION),
    ("ledger.complete_claim_for", "POST"): ("claimed", "/admin/wishes/1/claims/1/complete", {"hours": "2"}, ACTION),
    ("ledger.cancel_claim_of", "POST"): ("claimed", "/admin/wishes/1/claims/1/cancel", {"reason": "出差"}, ACTION),
    ("figures.index", "GET"): ("pending", "/admin/figures/", None, PAGE),
    ("exports.ledger_xlsx", "GET"): ("pending", "/admin/export/ledger.xlsx", None, LIST),
    ("exports.ledger_csv", "GET"): ("pending", "/admin/export/ledger.csv", None, LIST),
    ("exports.report_xlsx", "GET"): ("pending", "/admin/export/report.xlsx", None, PAGE),
    # A large export's job and file: only for the login that asked (新城社区's staff), not even
    # for an admin or a grid worker of the same community.
    ("exports.job_page", "GET"): ("export", "/admin/export/jobs/1", None,
                                  logins(GONE, anonymous=LOGIN, community_this=SHOWN)),
    ("exports.job_download", "GET"): ("export", "/admin/export/jobs/1/download", None,
                                      logins(GONE, anonymous=LOGIN, community_this=SHOWN)),
    ("people.index", "GET"): (None, "/admin/people/", None, LIST),
    ("people.export_xlsx", "GET"): (None, "/admin/people/export.xlsx", None, LIST),
    ("people.export_csv", "GET"): (None, "/admin/people/export.csv", None, LIST),
    ("people.upload", "POST"): (None, "/admin/people/import", "roster", scoped(DONE, REFUSED)),
    ("people.approve", "POST"): ("registration", "/admin/people/registrations/1/approve", {},
                                 scoped(DONE, HIDDEN, inside_kinds=IN_COMMUNITY)),
    ("people.reject", "POST"): ("registration", "/admin/people/registrations/1/reject", {"reason": "不符"},
                                scoped(DONE, HIDDEN, inside_kinds=IN_COMMUNITY)),
    ("sim.page", "GET"): (None, "/sim/", None, PAGE),
    # Failed notices: each login sees and retries those of its scope, then comes back to the list.
    ("notices.failed", "GET"): ("pending", "/admin/notices/failed", None, PAGE),
    ("notices.retry_all", "POST"): ("pending", "/admin/notices/failed/retry", {}, logins(DONE, anonymous=LOGIN)),
    ("notices.retry_one", "POST"): ("pending", "/admin/notices/1/retry", {}, logins(DONE, anonymous=LOGIN)),
    # Service records (双报到): pages within the login's scope; a certificate only for a member
    # inside it (李建国 of 新城社区, who belongs to no grid).
    ("service.index", "GET"): ("completed", "/admin/service/", None, PAGE),
    ("service.cards", "GET"): ("completed", "/admin/service/cards", None, PAGE),
    ("service.cards_xlsx", "GET"): ("completed", "/admin/service/cards.xlsx", None, PAGE),
    ("service.issue", "POST"): ("certified", "/admin/service/certificates",
                                {"member": "o-li", "first": "{today}", "last": "{today}"},
                                scoped(DONE, REFUSED, inside_kinds=("admin", "community_this"))),
    ("service.certificate", "GET"): (None, "/admin/service/certificates/ZM-0000-0001", None,
                                     logins(GONE, anonymous=LOGIN)),
    ("service.check", "GET"): (None, "/admin/service/check?number=ZM-0000-0001", None, logins(DONE, anonymous=LOGIN)),
    # As 王秀兰, a resident of 新城社区/第一网格; the grid worker and the community staff of
    # elsewhere may not speak for her.
    ("sim.say", "POST"): ("pending", "/sim/say", "say", scoped(SHOWN, BAD, anonymous=UNAUTHORISED)),
    ("sim.feed", "GET"): ("pending", "/sim/feed?person=resident", None,
                          scoped(SHOWN, GONE, anonymous=UNAUTHORISED)),
    # Outside the demo there is no stand-in authorize page.
    ("sim.demo_authorize", "GET"): (None, "/sim/connect/oauth2/authorize?redirect_uri=x&state=s", None,
                                    logins(GONE)),
    # Both identities of a person (王秀兰), set by those who may place her (models.scope).
    ("people.identities", "POST"): (None, "/admin/people/{wang}/identities", {"wecom_userid": "wang-{n}"},
                                    scoped(DONE, HIDDEN)),
    # The AI bot in WeCom groups: not configured here.
    ("webhook.aibot_verify", "GET"): (None, "/wecom/aibot", None, logins(GONE)),
    ("webhook.aibot_receive", "POST"): (None, "/wecom/aibot", "<xml/>", logins(GONE)),
    # The wish's phone page knows people only through WeChat's web authorisation (PHONE_MATRIX
    # below): a dashboard login is sent to WeChat, its forms are refused, a forged state is refused.
    ("phone.show", "GET"): ("published", "/w/{token}", None, logins(WECHAT)),
    ("phone.come_back", "GET"): ("published", "/w/oauth?code=CODE1&state=forged", None, logins(BAD)),
    ("phone.claim", "POST"): ("published", "/w/{token}/claim", {}, logins(FORBIDDEN)),
    ("phone.release", "POST"): ("claimed", "/w/{token}/release", {}, logins(FORBIDDEN)),
    ("phone.complete", "POST"): ("claimed", "/w/{token}/complete", {"note": "送到了"}, logins(FORBIDDEN)),
}


def routes(app) -> list[tuple[str, str]]:
    return sorted({(rule.endpoint, method) for rule in app.url_map.iter_rules()
                   for method in rule.methods - {"HEAD", "OPTIONS"}})


def test_every_route_has_a_row(app):
    assert routes(app) == sorted(ROUTE_MATRIX), "a route without a row in the matrix (or a stale row)"
    for key, (_state, _path, _data, outcomes) in ROUTE_MATRIX.items():
        assert set(outcomes) == set(LOGINS), key


@pytest.fixture
def more_staff(app, staff, everyone):
    with app.extensions["wishbot"].db.transaction() as s:
        add_staff(s, "dongshan", "community", STAFF_PASSWORD, community="东山社区", openid="o-ds")
        add_staff(s, "mawei", "gridworker", STAFF_PASSWORD, grid="新城社区/第二网格", openid="o-ma")


def person_id(app, openid: str) -> int:
    with app.extensions["wishbot"].db.sessions() as session:
        return session.scalar(select(Person.id).where(Person.openid == openid))


def prepare(app, chat, state: str | None) -> None:
    if state == "registration":
        assert chat.say("o-sun", "报到 孙桂芝 市税务局 13800000003 新城社区").startswith("收到您的报到申请 R1")
        return
    if state == "export":  # a finished ledger export of 新城社区's staff
        runtime = app.extensions["wishbot"]
        runtime.export_directory.mkdir(parents=True, exist_ok=True)
        (runtime.export_directory / "export-1.csv").write_bytes("\ufeff序号,心愿编号\r\n1,#1\r\n".encode())
        with runtime.db.transaction() as s:
            staff_id = s.scalar(select(StaffUser.id).where(StaffUser.username == "xincheng"))
            s.add(ExportJob(staff_user_id=staff_id, kind="ledger.csv", params="{}", status="done", rows_total=1,
                            rows_done=1, filename="export-1.csv"))
        return
    for openid, text in SETUP["completed" if state == "proof" else state]:
        chat.say(openid, text)
    if state == "proof":
        with app.extensions["wishbot"].db.transaction() as s:
            claim = s.scalar(select(Claim).where(Claim.wish_id == 1))
            s.add(Proof(claim_id=claim.id, media_id="m-1", image=b"\xff\xd8\xff-photo", content_type="image/jpeg"))


def listed(response, what: str) -> bool:
    body = response.get_data()
    if body.startswith(b"PK"):  # .xlsx
        book = load_workbook(io.BytesIO(body), read_only=True)
        return any(what in str(cell) for sheet in book.worksheets for r in sheet.iter_rows(values_only=True)
                   for cell in r if cell is not None)
    if body.startswith(b"\xef\xbb\xbf"):  # .csv
        return any(what in cell for r in csv.reader(io.StringIO(body.decode("utf-8-sig"))) for cell in r)
    return what in body.decode()


def request_as(app, client, key, path: str, data, n: int):
    endpoint, method = key
    path = path.replace("{token}", app.extensions["wishbot"].links.token(1))
    path = path.replace("{wang}", str(person_id(app, "o-wang")))
    if method == "GET":
        return client.get(path.replace("person=resident", f"person={person_id(app, 'o-wang')}"))
    token = csrf(client, "/admin/login")
    if data == "say":
        return client.post(path, json={"person": person_id(app, "o-wang"), "text": "我的心愿"},
                           headers={"X-CSRF-Token": token})
    if data == "roster":
        roster = csv_bytes([[f"o-new-{n}", "resident", "钱玉珍", "", "新城社区", "第一网格", "", ""]])
        return client.post(path, data={"csrf_token": token, "file": (io.BytesIO(roster), "people.csv")},
                           content_type="multipart/form-data")
    if isinstance(data, str):
        return client.post(path, data=data, content_type="text/xml")
    today = local_time(utcnow()).date().isoformat()
    form = {"csrf_token": token, **{name: value.format(n=n, today=today) for name, value in data.items()}}
    if form.get("member", "").startswith("o-"):
        form["member"] = str(person_id(app, form["member"]))
    if form.get("member") == "member":  # 李建国 takes the one slot; then 陈晓梅 is told it is taken
        with app.extensions["wishbot"].db.sessions() as session:
            taken = session.scalar(select(Claim.id).where(Claim.wish_id == 1)) is not None
        form["member"] = str(person_id(app, "o-chen" if taken else "o-li"))
    return client.post(path, data=form)


def route_outcome(key, response, what: str) -> str:
    status, location = response.status_code, response.headers.get("Location", "")
    if status == 302 and "/admin/login" in location:
        return LOGIN
    if status == 302 and "/connect/oauth2/authorize?" in location:
        return WECHAT
    if key == ("admin.home", "GET") and status == 302:
        return HOME
    if key == ("service.issue", "POST") and status == 302 and "/certificates/" not in location:
        return REFUSED  # back to the service page with the reason
    if status == 302:
        return DONE
    if status == 200 and what:
        return LISTED if listed(response, what) else UNLISTED
    return {200: SHOWN, 400: BAD, 401: UNAUTHORISED, 403: FORBIDDEN, 404: HIDDEN if key[0].startswith(
        ("ledger.", "people.")) else GONE, 422: REFUSED}.get(status, str(status))


@pytest.mark.parametrize("key", sorted(ROUTE_MATRIX), ids="-".join)
def test_each_route_for_each_login(app, chat, more_staff, key):
    if key not in {(r.endpoint, m) for r in app.url_map.iter_rules() for m in r.methods}:
        pytest.fail(f"{key} is in the matrix but not in url_map")
    state, path, data, expected = ROUTE_MATRIX[key]
    prepare(app, chat, state)
    what = {"ledger.index": "老花镜", "exports.ledger_xlsx": "老花镜", "exports.ledger_csv": "老花镜",
            "people.index": "王秀兰", "people.export_xlsx": "王秀兰", "people.export_csv": "王秀兰"}.get(key[0], "")
    seen = {}
    order = sorted(LOGINS, key=lambda kind: kind in IN_SCOPE + IN_COMMUNITY)  # refusals first
    for n, kind in enumerate(order):
        client = app.test_client()
        if LOGINS[kind]:
            assert log_in(client, LOGINS[kind]).status_code == 302
        seen[kind] = route_outcome(key, request_as(app, client, key, path, data, n), what)
    assert seen == expected
    with app.extensions["wishbot"].db.sessions() as session:  # what the allowed actions did
        wish, registration = session.get(Wish, 1), session.get(Registration, 1)
        if key == ("ledger.publish", "POST"):
            assert wish.status == "published"
        if key == ("ledger.reject", "POST"):
            assert wish.status == "rejected"
        if key == ("ledger.assign", "POST"):
            assert wish.status == "claimed"
        if key == ("ledger.confirm", "POST"):
            assert wish.status == "confirmed"
        if key[0] in ("people.approve", "people.reject"):
            assert registration.status == ("approved" if key[0] == "people.approve" else "rejected")
        if key == ("people.identities", "POST"):
            wang = session.scalar(select(Person).where(Person.openid == "o-wang"))
            last_in_scope = max(n for n, kind in enumerate(order) if kind in IN_SCOPE)
            assert wang.wecom_userid == f"wang-{last_in_scope}"  # out of scope, nothing was set
        if key[0] in ("phone.claim", "phone.release", "phone.complete"):
            assert wish.status == {"phone.claim": "published"}.get(key[0], "claimed")  # nothing changed
        if key == ("people.upload", "POST"):
            imported = session.scalars(select(Person.openid).where(Person.openid.like("o-new-%"))).all()
            assert len(imported) == len(IN_SCOPE)


# --- the wish's phone page, for everyone WeChat's web authorisation may name ------------------

PHONE_ACTORS = {  # kind -> the OpenID WeChat's web authorisation answers with
    "stranger": "o-stranger",              # not in the directory at all
    "other_resident": "o-zhao",            # a resident of 新城社区/第二网格
    "resident": "o-wang",                  # the wish's requester
    "member": "o-li",                      # a volunteer of 新城社区
    "member_other_community": "o-dsv",     # a volunteer of 东山社区 the link was forwarded to
    "gw_this_grid": "o-liu",
    "gw_other_grid": "o-ma",
    "gw_other_community": "o-zhou",
    "staff_this_community": "o-xc",
    "admin": "o-admin",
}
PLAIN, NOT_YET, TAKEN = "plain page", "not published yet", "taken"


def phone_row(default: str, **cells: str) -> dict[str, str]:
    return {actor: cells.get(actor, default) for actor in PHONE_ACTORS}


ITS_STAFF = {a: SEES for a in ("gw_this_grid", "staff_this_community", "admin")}
# Anyone signed in may act only through the chat command's own rules; a stranger is no one.
ONLY_THE_CLAIMER = phone_row(ROLE, stranger=FORBIDDEN, member="ok", member_other_community=NOT_THEIRS)

# (endpoint, the wish's state) -> outcome per actor. Seeing: the page shows what 查询 shows them.
PHONE_MATRIX = {
    ("phone.show", "published"): phone_row(PLAIN, resident=SEES, member=SCRUBS, member_other_community=SCRUBS,
                                           **ITS_STAFF),
    # A link that leaked before the wish was published shows it only to its requester and staff.
    ("phone.show", "pending"): phone_row(PLAIN, resident=SEES, member=NOT_YET, member_other_community=NOT_YET,
                                         **ITS_STAFF),
    # As `认领 1` in the chat: members may claim (any community's, as in the chat), nobody else.
    ("phone.claim", "published"): phone_row(ROLE, stranger=FORBIDDEN, member=OK, member_other_community=OK),
    ("phone.release", "claimed"): ONLY_THE_CLAIMER,
    ("phone.complete", "claimed"): ONLY_THE_CLAIMER,
}
PHONE_ORDER = (FORBIDDEN, PLAIN, NOT_YET, ROLE, NOT_THEIRS, SCRUBS, SEES, OK)  # refusals first


def test_every_phone_action_has_a_row(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("phone.")}
    assert endpoints - {"phone.come_back"} == {endpoint for endpoint, _state in PHONE_MATRIX}
    for outcomes in PHONE_MATRIX.values():
        assert set(outcomes) == set(PHONE_ACTORS)


def page_outcome(response) -> str:
    assert response.status_code == 200, response.status_code
    body = response.get_data(as_text=True)
    if "139-1111-2222" in body:
        return SEES
    if SCRUBBED in body:
        return SCRUBS
    # Nothing of the wish, nor of its requester, for anyone else.
    assert "老花镜" not in body and "王秀兰" not in body and "13800000001" not in body, body
    return NOT_YET if "还没有发布" in body else PLAIN


PHONE_KEYWORDS = {"claim": "认领", "release": "放弃", "complete": "完成"}
PHONE_DONE = {  # what each action's chat command answers when it is done
    "claim": f"认领成功！心愿 #1：{CONTENT}\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。",
    "release": "已放弃心愿 #1，它会重新开放给大家认领。",
    "complete": "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。",
}


def flashes(body: str) -> list[tuple[str, str]]:
    return [(kind, html.unescape(text)) for kind, text in
            re.findall(r'<p class="flash (\w+)" role="status">(.*?)</p>', body, re.S)]


def action_outcome(client, response, path: str, action: str) -> str:
    """The outcome the page's flashed answer (the chat command's exact reply) names; anything
    else is returned as it is, so the matrix's comparison shows it."""
    if response.status_code == 403:
        return FORBIDDEN
    assert response.status_code == 302, response.status_code
    said = flashes(client.get(path).get_data(as_text=True))
    return {
        ("ok", PHONE_DONE[action]): OK,
        ("error", f"「{PHONE_KEYWORDS[action]}」不是您能用的命令。发「帮助」看看您能做什么。"): ROLE,
        ("error", "心愿 #1 已被认领，请看看其他心愿。"): TAKEN,
        ("error", "您没有认领心愿 #1。"): NOT_THEIRS,
    }.get(said[0] if len(said) == 1 else None, repr(said))


@pytest.mark.parametrize("key", sorted(PHONE_MATRIX), ids="-".join)
def test_each_phone_action_for_each_person(app, chat, everyone, wechat_api, key):
    endpoint, state = key
    expected = PHONE_MATRIX[key]
    add_people(app, dict(openid="o-dsv", role="member", name="东山志愿者", community="东山社区"))
    oauth = WeChatOAuth(wechat_api, APPID, "secret")
    for openid, text in SETUP[state]:
        chat.say(openid, text)
    link = app.extensions["wishbot"].links.page_url(1)
    path = link.removeprefix(PUBLIC)
    seen = {}
    # Refusals first; 李建国 last, so another member's claim (undone at once) is tried on an open wish.
    for actor in sorted(PHONE_ACTORS, key=lambda a: (PHONE_ORDER.index(expected[a]), a == "member")):
        client = app.test_client()
        page = open_as(client, oauth, PHONE_ACTORS[actor], link)
        if endpoint == "phone.show":
            seen[actor] = page_outcome(page)
            continue
        action = endpoint.removeprefix("phone.")
        response = client.post(f"{path}/{action}", data={"csrf_token": csrf(client, "/admin/login")})
        seen[actor] = action_outcome(client, response, path, action)
        if endpoint == "phone.claim" and seen[actor] == OK and actor != "member":
            chat.say(PHONE_ACTORS[actor], "放弃 1")  # the wish open again for the next one
    assert seen == expected
    with app.extensions["wishbot"].db.sessions() as session:
        wish = session.get(Wish, 1)
        after = {"phone.claim": "claimed", "phone.release": "published", "phone.complete": "completed"}
        assert wish.status == after.get(endpoint, {"pending": "pending_review"}.get(state, state))
        if endpoint != "phone.show":
            claims = session.scalars(select(Claim).where(Claim.wish_id == 1).order_by(Claim.id)).all()
            assert claims[-1].member.openid == "o-li"  # the member who may, and no one else


def test_a_link_names_one_wish_and_cannot_be_made_up(app, chat, wechat_api):
    """A token signed with another key, a tampered one, or one for another wish's number made up
    by hand: a plain 404, nothing read, nothing done."""
    from itsdangerous import URLSafeSerializer

    from bot.links import SALT

    oauth = WeChatOAuth(wechat_api, APPID, "secret")
    for openid, text in SETUP["published"]:
        chat.say(openid, text)
    chat.say("o-sun", f"许愿 {CONTENT}")  # wish 2, in 东山社区, not published
    links = app.extensions["wishbot"].links
    client = app.test_client()
    open_as(client, oauth, "o-li", links.page_url(1))
    token = links.token(1)
    forged = [URLSafeSerializer("another-secret", salt=SALT).dumps(2), tampered(token),
              token.replace(token.split(".")[0], URLSafeSerializer("x").dumps(2).split(".")[0]), "2", "..", "%00"]
    for bad in forged:
        response = client.get(f"/w/{bad}")
        assert response.status_code == 404 and "链接无效" in response.get_data(as_text=True), bad
        response = client.post(f"/w/{bad}/claim", data={"csrf_token": csrf(client, "/admin/login")})
        assert response.status_code == 404, bad
    with app.extensions["wishbot"].db.sessions() as session:
        assert session.scalar(select(Claim.id)) is None
        assert session.get(Wish, 2).status == "pending_review"
