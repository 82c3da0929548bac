"""The wish's phone page in Debian's Chromium at 375 px: opened from a group push, signed in by
a local stand-in for WeChat's web authorisation, claimed, completed with a photo."""
from __future__ import annotations

import re
import shutil
import threading

import pytest
from sqlalchemy import func, select
from werkzeug.serving import make_server

from bot.channels import simulate
from bot.say import DEMO_AES_KEY, DEMO_APPID, DEMO_TOKEN
from bot.settings import Settings
from models import Claim, Notice, Proof, Wish, WishEvent

from .phone_oauth import WeChatOAuth, tampered
from .test_browser import PHONE, fits_width, shoot

SECRET = "oauth-secret"
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
       b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
LINK = re.compile(r"一键认领：(\S+)")


@pytest.fixture
def served(sqlite_template, tmp_path, httpserver):
    """The demo's people served on 127.0.0.1 with WISHBOT_PUBLIC_URL set to that server, WeChat's
    authorize page and code exchange on a local stand-in; yields (base, app, oauth)."""
    from app import create_app
    from composition.demo import seed

    path = tmp_path / "wishbot.sqlite3"
    shutil.copy(sqlite_template, path)
    holder = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    stand_in = httpserver.url_for("").rstrip("/")
    httpserver.expect_request("/cgi-bin/stable_token", method="POST").respond_with_json(
        {"access_token": "TOKEN-1", "expires_in": 7200})
    httpserver.expect_request("/cgi-bin/message/custom/send", method="POST").respond_with_json({"errcode": 0})
    oauth = WeChatOAuth(httpserver, DEMO_APPID, SECRET)
    settings = Settings(database_url=f"sqlite:///{path}", wechat_token=DEMO_TOKEN, wechat_appid=DEMO_APPID,
                        wechat_secret=SECRET, wechat_aes_key=DEMO_AES_KEY, wechat_api_base=stand_in,
                        wecom_api_base=stand_in, wechat_oauth_base=stand_in, public_url=base,
                        secret_key="phone-test-secret")
    app = holder["app"] = create_app(settings)
    runtime = app.extensions["wishbot"]
    with runtime.db.transaction() as session:
        seed(session)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, app, oauth
    server.shutdown()
    runtime.jobs.join()
    runtime.jobs.close()
    runtime.db.dispose()


def say(app, openid: str, text: str) -> str:
    """A message through the app's own /wechat, signed and encrypted as WeChat sends it."""
    xml = simulate.build_text_message(openid, text)
    params, body = simulate.sign_request(xml, token=DEMO_TOKEN, appid=DEMO_APPID, aes_key=DEMO_AES_KEY)
    response = app.test_client().post("/wechat", query_string=params, data=body, content_type="text/xml")
    assert response.status_code == 200
    return simulate.read_reply(response.data, token=DEMO_TOKEN, appid=DEMO_APPID, aes_key=DEMO_AES_KEY)


def scalar(app, query):
    with app.extensions["wishbot"].db.sessions() as session:
        return session.scalar(query)


def published_link(app) -> tuple[int, str]:
    """刘芳 publishes 王秀兰's 老花镜 wish; the group push carries the page's link."""
    number = scalar(app, select(Wish.id).where(Wish.content.contains("老花镜")))
    assert say(app, "demo-liu", f"审核 {number} 通过").startswith(f"心愿 #{number} 已发布")
    push = scalar(app, select(Notice.text).where(Notice.wish_id == number, Notice.event == "published",
                                                 Notice.audience == "group"))
    assert "13800000001" not in push and "王秀兰" not in push
    return number, LINK.search(push).group(1)


@pytest.fixture
def phone(browser):
    context = browser.new_context(viewport=PHONE, device_scale_factor=1, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == []


def test_a_member_claims_from_the_group_push_and_completes_with_a_photo(served, phone):
    from playwright.sync_api import expect

    base, app, oauth = served
    number, link = published_link(app)
    assert link.startswith(f"{base}/w/")

    oauth.signed_in = "demo-li"  # 李建国, a member, taps the link in the group
    phone.goto(link)
    expect(phone.locator("h1")).to_contain_text(f"心愿 #{number}")
    assert oauth.authorize_calls[-1]["redirect_uri"] == f"{base}/w/oauth"
    facts = phone.locator(".wish-lines")
    expect(facts).to_contain_text("需要一副老花镜")
    expect(facts).to_contain_text("许愿人：王**")
    expect(facts).not_to_contain_text("13800000001")  # no contact before the claim
    assert fits_width(phone)
    shoot(phone, "20-phone-wish")

    phone.click("button:has-text('认领')")
    expect(phone.locator(".flash.ok")).to_contain_text(f"认领成功！心愿 #{number}")
    expect(facts).to_contain_text("13800000001")  # a claimer sees how to reach the requester
    expect(phone.locator("button:has-text('完成')")).to_be_visible()
    expect(phone.locator("button:has-text('放弃')")).to_be_visible()
    assert fits_width(phone)
    shoot(phone, "21-phone-claimed")
    assert scalar(app, select(WishEvent.channel).where(WishEvent.wish_id == number, WishEvent.action == "claim")) == "web"
    # The same notices as `认领 N` in the chat: the group, the requester, the claimer's contact details.
    with app.extensions["wishbot"].db.sessions() as session:
        events = {(n.event, n.audience) for n in session.scalars(
            select(Notice).where(Notice.wish_id == number, Notice.event.in_(["claimed", "contact"])))}
    assert events == {("claimed", "group"), ("claimed", "private"), ("contact", "private")}

    phone.fill("textarea[name=note]", "已送到家")
    phone.set_input_files("input[name=photo]", files=[{"name": "done.png", "mimeType": "image/png", "buffer": PNG}])
    phone.click("button:has-text('完成')")
    expect(phone.locator(".flash.ok").first).to_contain_text(f"心愿 #{number} 已报告完成")
    expect(phone.locator(".flash.ok").nth(1)).to_have_text(f"照片已作为心愿 #{number} 的完成凭证保存。")
    expect(phone.locator("h1 .status")).to_have_text("已完成，待确认")
    assert scalar(app, select(Claim.note).where(Claim.wish_id == number)) == "已送到家"
    assert scalar(app, select(Proof.image).join(Claim).where(Claim.wish_id == number)) == PNG
    shoot(phone, "22-phone-completed")


def test_a_resident_and_a_stranger_see_no_ones_details(served, phone):
    from playwright.sync_api import expect

    base, app, oauth = served
    number, link = published_link(app)
    for openid in ("demo-zhao", "o-nobody-knows-me"):  # another resident; someone not in the directory
        phone.context.clear_cookies()
        oauth.signed_in = openid
        phone.goto(link)
        expect(phone.locator(".notice")).to_contain_text("这个页面是给志愿者认领心愿用的")
        body = phone.locator("body").inner_text()
        assert "老花镜" not in body and "王" not in body and "认领" not in body.replace("认领心愿用的", "")
        assert fits_width(phone)
    assert scalar(app, select(func.count()).select_from(Claim).where(Claim.wish_id == number)) == 0

    phone.goto(f"{base}/w/{tampered(link.rsplit('/', 1)[-1])}")  # a token not signed here
    expect(phone.locator(".notice")).to_contain_text("链接无效")


@pytest.fixture
def demo(sqlite_template, tmp_path):
    """As `wishbot demo` runs: no Official Account, the simulator plays WeChat's authorize page."""
    from app import create_app
    from composition.demo import seed

    path = tmp_path / "demo.sqlite3"
    shutil.copy(sqlite_template, path)
    holder = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    settings = Settings(database_url=f"sqlite:///{path}", wechat_token=DEMO_TOKEN, wechat_appid=DEMO_APPID,
                        wechat_aes_key=DEMO_AES_KEY, wechat_api_base="http://127.0.0.1:9",
                        wecom_api_base="http://127.0.0.1:9", public_url=base, wechat_oauth_base=f"{base}/sim",
                        secret_key="demo-test-secret", demo=True)
    app = holder["app"] = create_app(settings)
    with app.extensions["wishbot"].db.transaction() as session:
        seed(session)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield base, app
    server.shutdown()
    app.extensions["wishbot"].jobs.join()
    app.extensions["wishbot"].jobs.close()
    app.extensions["wishbot"].db.dispose()


def test_the_demo_opens_the_claim_page_from_a_group_push_in_the_simulator(demo, phone):
    from playwright.sync_api import expect

    from models import Person

    base, app = demo
    number = scalar(app, select(Wish.id).where(Wish.content.contains("老花镜")))
    liu = scalar(app, select(Person.id).where(Person.openid == "demo-liu"))
    li = scalar(app, select(Person.id).where(Person.openid == "demo-li"))
    phone.goto(f"{base}/sim/")
    phone.select_option("#person", str(liu))
    phone.fill("#text", f"审核 {number} 通过")
    phone.click("#say button[type=submit]")
    expect(phone.locator("#chat .msg.bot", has_text=f"心愿 #{number} 已发布")).to_be_visible()

    phone.select_option("#person", str(li))  # 李建国 reads the volunteers' group
    push = phone.locator("#groups .msg", has_text=f"新心愿 #{number}")
    expect(push.locator("a")).to_be_visible()
    shoot(phone, "23-sim-push-link")
    with phone.context.expect_page() as opened:
        push.locator("a").click()
    wish_page = opened.value
    expect(wish_page.locator("h1")).to_contain_text(f"心愿 #{number}")
    wish_page.click("button:has-text('认领')")
    expect(wish_page.locator(".flash.ok")).to_contain_text(f"认领成功！心愿 #{number}")
    assert scalar(app, select(Claim.member_id).where(Claim.wish_id == number)) == li
