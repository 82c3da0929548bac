"""The dashboard and the chat simulator in Debian's Chromium, on a phone-sized screen, against
the app served by a real HTTP server on 127.0.0.1 with the demo's people and wishes; the printable
service cards and certificate at A4."""
from __future__ import annotations

import re
import shutil
import threading
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.serving import make_server

from bot.say import DEMO_AES_KEY, DEMO_APPID, DEMO_TOKEN
from bot.settings import Settings
from handlers.service_records import Span, current_quarter, service_cards, unit_summaries
from models import Certificate, Person, Wish
from models.wish import PUBLISHED
from web.exports import LEDGER_HEADINGS

PHONE = {"width": 375, "height": 812}
A4 = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 dpi
PASSWORD = "browser-pass-1"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "artifacts" / "screenshots"


@pytest.fixture(scope="module")
def live(sqlite_template, tmp_path_factory):
    """The demo's data served by werkzeug in a thread; yields (base URL, app)."""
    from app import create_app
    from composition.demo import seed, seed_staff

    path = tmp_path_factory.mktemp("browser") / "wishbot.sqlite3"
    shutil.copy(sqlite_template, path)
    nowhere = "http://127.0.0.1:9"  # nothing configured is delivered; this is only a guard
    settings = Settings(database_url=f"sqlite:///{path}", wechat_token=DEMO_TOKEN, wechat_appid=DEMO_APPID,
                        wechat_aes_key=DEMO_AES_KEY, wechat_api_base=nowhere, wecom_api_base=nowhere,
                        secret_key="browser-test-secret")
    app = create_app(settings)
    runtime = app.extensions["wishbot"]
    with runtime.db.transaction() as session:
        seed(session)
        seed_staff(session, PASSWORD)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    runtime.jobs.join()
    runtime.jobs.close()
    runtime.db.dispose()


@pytest.fixture
def page(browser, live):
    """A phone-sized page that fails the test if it asks for anything not on our server or
    logs an error (a script error, a Content-Security-Policy refusal)."""
    base, _app = live
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, accept_downloads=True, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    foreign: list[str] = []
    page.on("request", lambda request: None if request.url.startswith((base, "data:", "blob:"))
            else foreign.append(request.url))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    yield page
    context.close()
    assert foreign == [], f"requests outside the app (a CDN?): {foreign}"
    assert [e for e in errors if "status of 401" not in e] == [], errors  # 401: the wrong password, on purpose


def shoot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def fits_width(page) -> bool:
    """Nothing scrolls sideways on a 375-pixel screen."""
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def log_in(page, base: str, username: str = "admin", password: str = PASSWORD) -> None:
    page.goto(f"{base}/admin/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


def db_scalar(app, query):
    with app.extensions["wishbot"].db.sessions() as session:
        return session.scalar(query)


def test_log_in_and_filter_the_ledger(page, live):
    from playwright.sync_api import expect

    base, app = live
    page.goto(f"{base}/admin/wishes/")
    expect(page).to_have_url(f"{base}/admin/login?next=/admin/wishes/")
    assert fits_width(page)
    shoot(page, "01-login")
    log_in(page, base, password="wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("用户名或密码不对")
    log_in(page, base)
    expect(page.locator("h1")).to_contain_text("心愿台账")
    total = db_scalar(app, select(func.count()).select_from(Wish))
    expect(page.locator("table.ledger tbody tr")).to_have_count(total)
    assert fits_width(page)
    shoot(page, "02-ledger")

    page.click("summary:has-text('筛选')")  # folded away on a phone
    page.select_option("select[name=status]", PUBLISHED)
    page.click("form.filters button[type=submit]")
    published = db_scalar(app, select(func.count()).select_from(Wish).where(Wish.status == PUBLISHED))
    expect(page.locator("table.ledger tbody tr")).to_have_count(published)
    for badge in page.locator("table.ledger .status").all_inner_texts():
        assert badge == "待认领"

    page.goto(f"{base}/admin/wishes/")
    page.click("summary:has-text('筛选')")
    page.fill("input[name=q]", "水龙头")
    page.click("form.filters button[type=submit]")
    expect(page.locator("table.ledger tbody tr")).to_have_count(1)
    expect(page.locator("table.ledger")).to_contain_text("水龙头漏水")


def test_open_a_wish_and_approve_it(page, live):
    from playwright.sync_api import expect

    base, app = live
    log_in(page, base)
    number = db_scalar(app, select(Wish.id).where(Wish.content.contains("老花镜")))
    page.goto(f"{base}/admin/wishes/?q=老花镜")
    page.locator("table.ledger a", has_text=f"#{number}").first.click()
    expect(page.locator("h1")).to_contain_text(f"心愿 #{number}")
    expect(page.locator(".timeline")).to_contain_text("提交心愿")
    expect(page.locator(".facts")).to_contain_text("13800000001")  # staff of its grid see the phone
    assert fits_width(page)
    shoot(page, "03-wish-pending")

    page.fill("input[name=slots]", "2")
    page.click("text=通过并发布")
    expect(page.locator(".flash.ok")).to_contain_text(f"心愿 #{number} 已发布")
    expect(page.locator("h1 .status")).to_have_text("待认领")
    expect(page.locator(".timeline")).to_contain_text("审核发布")
    expect(page.locator(".timeline")).to_contain_text("管理台")
    assert db_scalar(app, select(Wish.slots).where(Wish.id == number)) == 2
    shoot(page, "04-wish-published")


def test_report_a_claim_done_for_its_member(page, live):
    """A member phoned in that it is done: the grid worker reports it from the wish's page."""
    from playwright.sync_api import expect

    from models import Claim
    from models.wish import ACTIVE

    base, app = live
    claim_id, number, member = db_scalar(app, select(func.min(Claim.id)).where(Claim.status == ACTIVE)), None, None
    with app.extensions["wishbot"].db.sessions() as session:
        claim = session.get(Claim, claim_id)
        number, member = claim.wish_id, claim.member.name
    log_in(page, base)
    page.goto(f"{base}/admin/wishes/{number}")
    form = page.locator(f"form[action$='/claims/{claim_id}/complete']")
    form.locator("input[name=note]").fill("电话告知已送到")
    form.locator("input[name=hours]").fill("1.5")
    assert fits_width(page)
    shoot(page, "04b-wish-claim-actions")
    form.locator("button").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"已替 {member} 报告心愿 #{number} 完成")
    expect(page.locator(".timeline")).to_contain_text("代报完成")
    expect(page.locator(".timeline")).to_contain_text(f"代 {member} 报告；电话告知已送到；工时 1.5小时")
    expect(page.locator(f"form[action$='/claims/{claim_id}/complete']")).to_have_count(0)
    assert db_scalar(app, select(Claim.status).where(Claim.id == claim_id)) == "completed"


def test_cancelling_a_claim_asks_first_and_a_no_changes_nothing(page, live):
    """取消认领 tells the member: the page asks before it sends, and 取消 in that dialog keeps the claim."""
    from playwright.sync_api import expect

    from models import Claim
    from models.wish import ACTIVE

    base, app = live
    with app.extensions["wishbot"].db.transaction() as session:  # a claim of its own: others end theirs
        someone = session.scalars(select(Person).where(Person.roles.contains("member"))).first()
        wish = session.scalars(select(Wish).where(  # whatever the tests before this one claimed
            Wish.status == PUBLISHED, Wish.requester_id != someone.id,
            ~Wish.claims.any(Claim.member_id == someone.id)).order_by(Wish.id)).first()
        claim = wish.claim_by(someone)
        session.flush()
        claim_id, number, member = claim.id, wish.id, someone.name
    log_in(page, base)
    page.goto(f"{base}/admin/wishes/{number}")
    form = page.locator(f"form[action$='/claims/{claim_id}/cancel']")
    form.locator("input[name=reason]").fill("出差")
    asked: list[str] = []

    def answer(accept: bool):
        def on_dialog(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return on_dialog

    page.once("dialog", answer(False))
    form.locator("button").click()
    page.wait_for_timeout(300)  # a submission, had there been one, would have left the page
    assert asked == [f"确定取消{member}的认领吗？会通知TA本人。"]
    assert db_scalar(app, select(Claim.status).where(Claim.id == claim_id)) == ACTIVE
    expect(page.locator(".flash")).to_have_count(0)
    page.once("dialog", answer(True))
    form.locator("button").click()
    expect(page.locator(".flash.ok")).to_contain_text(f"已取消 {member} 的认领")
    assert len(asked) == 2
    assert db_scalar(app, select(Claim.status).where(Claim.id == claim_id)) == "released"


def test_download_the_ledger_xlsx_and_read_it_back(page, live, tmp_path):
    base, app = live
    log_in(page, base)
    page.wait_for_url(f"{base}/admin/wishes/")
    with page.expect_download() as download_info:
        page.click("text=导出 Excel")
    download = download_info.value
    assert download.suggested_filename.startswith("微心愿台账-") and download.suggested_filename.endswith(".xlsx")
    target = tmp_path / "ledger.xlsx"
    download.save_as(target)
    sheet = load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == LEDGER_HEADINGS
    total = db_scalar(app, select(func.count()).select_from(Wish))
    assert len(rows) - 1 == total
    by_ref = {row[1]: row for row in rows[1:]}
    haircut = db_scalar(app, select(Wish).where(Wish.content.contains("理发")))
    row = by_ref[haircut.ref]
    assert row[2] == "赵德明" and row[6] == "李建国" and row[7] == "市税务局" and row[8] == "已圆梦"
    assert row[9] and row[10] and row[11]  # 认领、完成、确认时间


def test_figures_and_roster_pages_fit_a_phone(page, live):
    from playwright.sync_api import expect

    base, _app = live
    log_in(page, base)
    page.wait_for_url(f"{base}/admin/wishes/")
    page.goto(f"{base}/admin/figures/")
    expect(page.locator("svg.chart").first).to_be_visible()
    expect(page.locator(".honour")).to_contain_text("李建国")
    assert fits_width(page)
    shoot(page, "05-figures")
    page.goto(f"{base}/admin/people/")
    expect(page.locator("table.ledger")).to_contain_text("王秀兰")
    assert fits_width(page)
    shoot(page, "06-people")


@pytest.fixture
def demo_mode(live):
    """The demo's simulator: anyone may speak as anyone, grid workers too (outside the demo a
    login may speak only as residents and members of its scope)."""
    runtime = live[1].extensions["wishbot"]
    settings = runtime.settings
    runtime.settings = settings.with_(demo=True)
    yield live
    runtime.settings = settings


def test_simulator_round_trip(page, demo_mode):
    """A resident wishes, the grid worker approves in chat, and the push reaches the
    volunteers' group and the resident's phone — all through the real conversation."""
    from playwright.sync_api import expect

    base, app = demo_mode
    log_in(page, base)
    page.wait_for_url(f"{base}/admin/wishes/")
    wang = db_scalar(app, select(Person.id).where(Person.openid == "demo-wang"))
    liu = db_scalar(app, select(Person.id).where(Person.openid == "demo-liu"))
    page.goto(f"{base}/sim/")
    page.select_option("#person", str(wang))
    page.fill("#text", "许愿 需要一个助听器")
    page.click("#say button[type=submit]")
    reply = page.locator("#chat .msg.bot", has_text="收到您的心愿")
    expect(reply).to_be_visible()
    number = db_scalar(app, select(Wish.id).where(Wish.content == "需要一个助听器"))
    expect(reply).to_contain_text(f"#{number}")
    assert fits_width(page)
    shoot(page, "07-sim-resident")

    page.select_option("#person", str(liu))
    expect(page.locator("#groups .msg", has_text=f"待审核心愿 #{number}")).to_be_visible()
    page.fill("#text", f"审核 {number} 通过")
    page.click("#say button[type=submit]")
    expect(page.locator("#chat .msg.bot", has_text=f"心愿 #{number} 已发布")).to_be_visible()
    expect(page.locator("#groups .msg", has_text=f"新心愿 #{number}")).to_be_visible()
    shoot(page, "08-sim-gridworker")

    page.select_option("#person", str(wang))
    expect(page.locator("#chat .msg.notice", has_text=f"您的心愿 #{number} 已发布")).to_be_visible()
    shoot(page, "09-sim-notice")


# --- service records: the page on a phone, the printable cards and certificate at A4 ---------

QUARTER = current_quarter()


@pytest.fixture
def a4(browser, live):
    """A page as wide as an A4 sheet, logged in as the admin."""
    base, _app = live
    context = browser.new_context(viewport=A4, device_scale_factor=1, locale="zh-CN")
    sheet = context.new_page()
    sheet.set_default_timeout(10_000)
    log_in(sheet, base)
    sheet.wait_for_url(f"{base}/admin/wishes/")
    yield sheet
    context.close()


def shoot_a4(sheet, name: str) -> None:
    """One sheet as the screen shows it: 210 × 297 mm with the print margins as padding."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    box = sheet.bounding_box()
    assert abs(box["width"] - 210 * 96 / 25.4) < 2 and abs(box["height"] - 297 * 96 / 25.4) < 2, box
    sheet.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def pdf_pages(sheet) -> int:
    return len(re.findall(rb"/Type\s*/Page(?!s)", sheet.pdf(format="A4", print_background=True)))


def test_service_page_fits_a_phone(page, live):
    from playwright.sync_api import expect

    base, _app = live
    log_in(page, base)
    page.wait_for_url(f"{base}/admin/wishes/")
    page.click("nav >> text=服务记录")
    expect(page.locator("h1")).to_contain_text("服务记录")
    expect(page.locator("table.units")).to_contain_text("市税务局")
    assert fits_width(page)
    shoot(page, "10-service-records")


def test_service_cards_print_one_card_per_a4_page(a4, live):
    from playwright.sync_api import expect

    base, app = live
    with app.extensions["wishbot"].db.sessions() as session:
        cards = service_cards(session, Span.quarter(QUARTER))
        units = len(unit_summaries(cards))
    assert cards, "the demo has services this quarter"
    a4.goto(f"{base}/admin/service/cards?quarter={QUARTER}")
    expect(a4.locator("section.card")).to_have_count(len(cards))
    expect(a4.locator("section.summary")).to_have_count(units)
    first = a4.locator("section.summary").first
    expect(first.locator("h1")).to_have_text("双报到服务情况汇总")
    card = a4.locator("section.card").first
    expect(card.locator("h1")).to_have_text(cards[0].community)
    expect(card.locator(".sign")).to_contain_text("经办人签字")
    # Printed, each sheet fills the A4 page inside its margins, and the browser prints exactly
    # one page per sheet.
    a4.emulate_media(media="print")
    heights = a4.locator("section.sheet").evaluate_all("els => els.map(e => e.getBoundingClientRect().height)")
    assert all(abs(h - 261 * 96 / 25.4) < 2 for h in heights), heights
    assert pdf_pages(a4) == len(cards) + units
    a4.emulate_media(media="screen")
    shoot_a4(first, "11-service-summary-a4")
    shoot_a4(card, "12-service-card-a4")


def test_issue_a_certificate_and_print_it(page, a4, live):
    from playwright.sync_api import expect

    base, app = live
    log_in(page, base)
    page.wait_for_url(f"{base}/admin/wishes/")
    page.goto(f"{base}/admin/service/")
    page.select_option("select[name=member]", label="李建国（市税务局）")
    page.click("text=出具证明")
    expect(page.locator("h1")).to_have_text("志愿服务证明")
    number = page.locator(".number").inner_text().removeprefix("编号：")
    with app.extensions["wishbot"].db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Certificate).where(Certificate.number == number)) == 1
    a4.goto(f"{base}/admin/service/certificates/{number}")
    expect(a4.locator(".statement")).to_contain_text("李建国")
    expect(a4.locator(".issuer")).to_contain_text("出具单位：新城社区（盖章）")
    expect(a4.locator("table.services tbody tr").first).to_contain_text("上门理发")
    assert pdf_pages(a4) == 1
    shoot_a4(a4.locator("section.certificate"), "13-certificate-a4")


# Rendered size of every chart text, in CSS pixels: its font size scaled by the SVG's viewBox.
CHART_TEXT_SIZES = """() => Array.from(document.querySelectorAll('svg.chart text')).map(t =>
    parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)"""
# Whether any two x-axis labels of the monthly chart overlap.
LABELS_OVERLAP = """() => {
    const boxes = Array.from(document.querySelectorAll('svg.chart text.label')).map(t => t.getBoundingClientRect());
    return boxes.some((a, i) => boxes.some((b, j) => i < j && Math.abs(a.top - b.top) < 1
        && a.left < b.right && b.left < a.right));
}"""


@pytest.mark.parametrize("width", [375, 1280])
def test_chart_text_is_readable_on_a_phone_and_a_desktop(browser, live, width):
    base, _app = live
    context = browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, base)
        page.wait_for_url(f"{base}/admin/wishes/")
        page.goto(f"{base}/admin/figures/")
        sizes = page.evaluate(CHART_TEXT_SIZES)
        assert sizes and all(11 <= size <= 22 for size in sizes), (width, sorted(set(round(s, 1) for s in sizes)))
        assert not page.evaluate(LABELS_OVERLAP)
        shoot(page, f"14-figures-{width}")
    finally:
        context.close()


def test_the_simulator_keeps_the_newest_message_in_view(page, demo_mode):
    from playwright.sync_api import expect

    base, app = demo_mode  # speaking as a grid worker: only the demo allows it (issue 9, point 5)
    log_in(page, base)
    page.wait_for_url(f"{base}/admin/wishes/")
    liu = db_scalar(app, select(Person.id).where(Person.openid == "demo-liu"))
    page.goto(f"{base}/sim/")
    page.select_option("#person", str(liu))
    for _ in range(3):  # long replies, more than the chat box holds
        page.fill("#text", "帮助")
        page.click("#say button[type=submit]")
    expect(page.locator("#chat .msg.bot:not(.pending)")).to_have_count(3)
    expect(page.locator("#chat .msg.pending")).to_have_count(0)
    at_bottom = "() => { const c = document.getElementById('chat'); return c.scrollHeight > c.clientHeight && c.scrollTop + c.clientHeight >= c.scrollHeight - 2; }"
    page.wait_for_function(at_bottom)
    shoot(page, "15-sim-scrolled")
