"""The wish's phone page over HTTP (Flask's client): the signed link, the web authorisation
against a local stand-in for WeChat (state, one-time codes), CSRF, and the same rules and
notices as the chat commands."""
from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from models import Claim, Notice, Proof, Wish

from .conftest import APPID, make_settings
from .phone_oauth import WeChatOAuth

PUBLIC = "https://wish.example.org"
LINK = re.compile(r"一键认领：(\S+)")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def settings(database_url, wechat_api):
    base = wechat_api.url_for("").rstrip("/")
    return make_settings(database_url, base, public_url=PUBLIC, wechat_oauth_base=base)


@pytest.fixture
def oauth(wechat_api):
    return WeChatOAuth(wechat_api, APPID, "secret")


def open_as(client, oauth, openid: str, link: str):
    """Open the link on a phone signed in to WeChat as `openid`; returns the final response."""
    path = link.removeprefix(PUBLIC)
    response = client.get(path)
    assert response.status_code == 302
    authorize = urlsplit(response.headers["Location"])
    assert response.headers["Location"].endswith("#wechat_redirect")
    args = {k: v[0] for k, v in parse_qs(authorize.query).items()}
    assert list(args) == ["appid", "redirect_uri", "response_type", "scope", "state"]
    assert args["redirect_uri"] == f"{PUBLIC}/w/oauth" and args["scope"] == "snsapi_base"
    oauth.signed_in = openid
    back = oauth.authorize(_Args(args))
    back_path = back.headers["Location"].removeprefix(PUBLIC)
    response = client.get(back_path)
    assert response.status_code == 302 and response.headers["Location"] == path
    return client.get(path)


class _Args:
    def __init__(self, args):
        from werkzeug.datastructures import MultiDict

        self.args = MultiDict(args)


def csrf(page) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)


def publish(chat, app, content: str = "想要一副老花镜") -> tuple[int, str]:
    reply = chat.say("o-wang", f"许愿 {content}")
    number = int(re.search(r"#(\d+)", reply).group(1))
    assert chat.say("o-liu", f"审核 {number} 通过").startswith(f"心愿 #{number} 已发布")
    with app.extensions["wishbot"].db.sessions() as s:
        push = s.scalar(select(Notice.text).where(Notice.wish_id == number, Notice.audience == "group",
                                                  Notice.event == "published"))
    return number, LINK.search(push).group(1)


def test_claim_and_release_through_the_page_as_through_the_chat(chat, app, client, oauth):
    number, link = publish(chat, app)
    page = open_as(client, oauth, "o-li", link)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "想要一副老花镜" in text and ">认领</button>" in text
    assert "13800000001" not in text

    response = client.post(f"{urlsplit(link).path}/claim", data={"csrf_token": csrf(page)})
    assert response.status_code == 302
    page = client.get(urlsplit(link).path)
    assert f"认领成功！心愿 #{number}" in page.get_data(as_text=True)
    assert any("您的心愿" in n and "已有人认领" in n for n in chat.private_notices("o-wang"))

    response = client.post(f"{urlsplit(link).path}/release", data={"csrf_token": csrf(page)})
    page = client.get(urlsplit(link).path)
    assert f"已放弃心愿 #{number}" in page.get_data(as_text=True)
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.get(Wish, number).status == "published"
        released = s.scalar(select(Notice.text).where(Notice.wish_id == number, Notice.event == "released"))
    assert f"重新开放认领" in released and LINK.search(released).group(1) == link  # the link comes again


def test_a_form_without_its_csrf_token_changes_nothing(chat, app, client, oauth):
    number, link = publish(chat, app)
    open_as(client, oauth, "o-li", link)
    response = client.post(f"{urlsplit(link).path}/claim", data={})
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    with app.extensions["wishbot"].db.sessions() as s:
        assert s.scalar(select(Claim.id).where(Claim.wish_id == number)) is None


def test_state_and_code_are_checked(chat, app, client, oauth):
    _number, link = publish(chat, app)
    path = urlsplit(link).path
    location = client.get(path).headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    wrong = client.get("/w/oauth", query_string={"code": "CODE1", "state": "forged"})
    assert wrong.status_code == 400 and "授权已过期" in wrong.get_data(as_text=True)
    client.get(path)  # a new state
    location = client.get(path).headers["Location"]
    state = parse_qs(urlsplit(location).query)["state"][0]
    used = client.get("/w/oauth", query_string={"code": "NEVER-ISSUED", "state": state})  # 40029 from WeChat
    assert used.status_code == 502 and "授权没有成功" in used.get_data(as_text=True)
    assert client.get(path).status_code == 302  # still not signed in


def test_completion_with_a_photo(chat, app, client, oauth):
    number, link = publish(chat, app)
    path = urlsplit(link).path
    page = open_as(client, oauth, "o-li", link)
    client.post(f"{path}/claim", data={"csrf_token": csrf(page)})
    page = client.get(path)
    response = client.post(f"{path}/complete", data={
        "csrf_token": csrf(page), "note": "送到了", "photo": (io.BytesIO(PNG), "a.png")},
        content_type="multipart/form-data")
    assert response.status_code == 302
    page = client.get(path).get_data(as_text=True)
    assert "已报告完成" in page and f"照片已作为心愿 #{number} 的完成凭证保存。" in page
    with app.extensions["wishbot"].db.sessions() as s:
        claim = s.scalar(select(Claim).where(Claim.wish_id == number))
        assert claim.status == "completed" and claim.note == "送到了"
        assert s.scalar(select(Proof.image).where(Proof.claim_id == claim.id)) == PNG
    assert any(f"心愿 #{number} 已完成" in n for n in chat.private_notices("o-wang"))


def test_no_link_without_a_public_url_and_none_once_taken(chat, app):
    number, link = publish(chat, app)
    chat.say("o-li", f"认领 {number}")
    with app.extensions["wishbot"].db.sessions() as s:
        claimed = s.scalar(select(Notice.text).where(Notice.wish_id == number, Notice.event == "claimed",
                                                     Notice.audience == "group"))
    assert "一键认领" not in claimed  # every slot taken: nothing to claim


def test_a_phone_photo_of_a_few_megabytes_is_kept_and_a_huge_one_refused(chat, app, client, oauth):
    """A camera photo is megabytes, far over the body limit sized for webhook messages: the
    completion form takes up to 10 MB (checked before Flask-WTF reads the form), no more."""
    number, link = publish(chat, app)
    path = urlsplit(link).path
    page = open_as(client, oauth, "o-li", link)
    client.post(f"{path}/claim", data={"csrf_token": csrf(page)})
    token = csrf(client.get(path))
    photo = PNG + b"\x00" * (3 * 1024 * 1024)
    huge = client.post(f"{path}/complete", data={"csrf_token": token, "photo": (io.BytesIO(PNG + b"\x00" * (11 * 1024 * 1024)), "a.png")},
                       content_type="multipart/form-data")
    assert huge.status_code == 413 and "照片太大" in huge.get_data(as_text=True)
    response = client.post(f"{path}/complete", data={"csrf_token": token, "photo": (io.BytesIO(photo), "a.png")},
                           content_type="multipart/form-data")
    assert response.status_code == 302
    with app.extensions["wishbot"].db.sessions() as s:
        claim = s.scalar(select(Claim).where(Claim.wish_id == number))
        assert claim.status == "completed"
        assert s.scalar(select(Proof.image).where(Proof.claim_id == claim.id)) == photo
