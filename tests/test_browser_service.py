"""The service records in Debian's Chromium: the dashboard page on a phone, and the printable
service cards and certificate at A4 — screenshots in artifacts/screenshots, and a PDF printed by
the browser to count the pages (one card, one summary, one certificate per page)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from handlers.service_records import Span, current_quarter, service_cards, unit_summaries
from models import Certificate

from .test_browser import SCREENSHOTS, browser, fits_width, live, log_in, page, shoot  # noqa: F401  (fixtures)

A4 = {"width": 794, "height": 1123}  # 210 × 297 mm at 96 dpi
QUARTER = current_quarter()


@pytest.fixture
def a4(browser, live):  # noqa: F811
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


def test_service_page_fits_a_phone(page, live):  # noqa: F811
    from playwright.sync_api import expect

    base, _app = live
    log_in(page, base)
    page.wait_for_url(f"{base}/admin/wishes/")
    page.click("nav >> text=服务记录")
    expect(page.locator("h1")).to_contain_text("服务记录")
    expect(page.locator("table.units")).to_contain_text("市税务局")
    assert fits_width(page)
    shoot(page, "10-service-records")


def test_service_cards_print_one_card_per_a4_page(a4, live):  # noqa: F811
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


def test_issue_a_certificate_and_print_it(page, a4, live):  # noqa: F811
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
