"""Hostile input, generated (hypothesis): the command parser and the webhook never fail on random
or huge text, invalid UTF-8, emoji, full-width forms, lone surrogates, XML with entities or any
MsgType. A webhook request is answered 200 (and what it carried is stored exactly as sent) or
refused 4xx (and nothing changes); never a 5xx, never the "system busy" of an unexpected error.

Example counts are kept small: the suite runs on a 2-core machine shared with others."""
from __future__ import annotations

import itertools
import secrets
import time

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from wechatpy.crypto import WeChatCrypto

from bot.channels import simulate
from bot.channels.errors import MalformedMessage, SignatureError
from bot.channels.wechat import OfficialAccount, signature
from bot.text import normalise, parse_number, split_first
from composition.conversation import BUSY
from handlers import ROUTER
from models import Base, ProcessedMessage, Wish

from .conftest import AES_KEY, APPID, TOKEN

FAST = settings(max_examples=60, deadline=None)
SLOW = settings(max_examples=20, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
_msg_ids = itertools.count(9_100_000_000_000_000_000)

# What people type: any character, with the hostile ones made likely.
FULL_WIDTH = "".join(chr(c) for c in range(0xFF01, 0xFF5F))
TRICKY = ["&amp;", "&lt;", "<![CDATA[", "]]>", "<xml>", "&#x0;", "\u3000", "\u200b", "\ufeff", "😀", "👨‍👩‍👧",
          "＃１２", "#12", "１２", "认领", "许愿", "审核", "通过", "驳回", "R1", "\n", "\t", " "]
any_text = st.text()  # includes lone surrogates and control characters
typed = st.lists(st.one_of(st.sampled_from(TRICKY), st.text(alphabet=FULL_WIDTH, max_size=5), st.text(max_size=8)),
                 max_size=12).map("".join)
huge = st.builds(lambda piece, n: piece * n, st.sampled_from(["很", "😀", "a", "＃１"]), st.integers(500, 6000))


def xml_valid(text: str) -> bool:
    """Whether the text can travel in XML 1.0 (so in a WeChat message) at all."""
    return all(c in "\t\n\r" or "\x20" <= c <= "\ud7ff" or "\ue000" <= c <= "\ufffd" or c >= "\U00010000"
               for c in text)


sendable = st.one_of(typed, any_text, huge).filter(xml_valid)


# --- the parser -----------------------------------------------------------------------------------

@FAST
@given(st.one_of(any_text, typed, huge))
def test_the_parser_never_fails(text):
    folded = normalise(text)
    assert normalise(folded) == folded  # idempotent
    match = ROUTER.match(folded)
    if match is not None:
        assert folded.startswith(match.keyword) and match.args == folded[len(match.keyword):].strip()
        head, rest = split_first(match.args)
        assert isinstance(head, str) and isinstance(rest, str)
    number = parse_number(folded)
    assert number is None or 0 <= number < 10**9


@FAST
@given(st.integers(0, 10**9 - 1), st.sampled_from(["认领", "查询", "撤回", "放弃"]), st.sampled_from(["", " ", "　"]))
def test_full_width_numbers_read_as_their_ascii_twins(number, keyword, gap):
    wide = str(number).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for written in (f"{keyword}{gap}＃{wide}", f"{keyword}{gap}#{number}", f"{keyword}{gap}{wide}"):
        match = ROUTER.match(normalise(written))
        assert match.keyword == keyword and parse_number(match.args) == number


@FAST
@given(st.binary(max_size=400), st.sampled_from([None, "raw", "aes", "rsa", ""]))
def test_the_channel_raises_only_its_two_refusals(body, encrypt_type):
    account = OfficialAccount(TOKEN, APPID, AES_KEY)
    args = {"timestamp": "1", "nonce": "n", "signature": signature(TOKEN, "1", "n")}
    if encrypt_type is not None:
        args["encrypt_type"] = encrypt_type
    with pytest.raises((SignatureError, MalformedMessage)):
        account.open(args, body)


# --- the webhook ----------------------------------------------------------------------------------

def rows(app) -> dict[str, int]:
    with app.extensions["wishbot"].db.sessions() as session:
        return {t.name: session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def fresh_stamp() -> tuple[str, str]:
    return str(int(time.time())), str(secrets.randbelow(10**10))


def post_sealed(client, plaintext: str):
    """Sealed with the real key and signed: only what is inside is hostile."""
    timestamp, nonce = fresh_stamp()
    crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
    sealed = simulate.parse_xml(crypto.encrypt_message(plaintext, nonce, timestamp))
    params = {"timestamp": timestamp, "nonce": nonce, "signature": signature(TOKEN, timestamp, nonce),
              "encrypt_type": "aes", "msg_signature": sealed["MsgSignature"]}
    body = f"<xml><ToUserName>gh_wishbot</ToUserName><Encrypt>{sealed['Encrypt']}</Encrypt></xml>"
    return client.post("/wechat", query_string=params, data=body, content_type="text/xml")


def stored_text(app, key: str) -> str | None:
    with app.extensions["wishbot"].db.sessions() as session:
        return session.scalar(select(ProcessedMessage.text).where(ProcessedMessage.key == key))


def as_xml_reads_it(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")  # XML's own line-end rule


@SLOW
@given(text=sendable, sender=st.sampled_from(["o-wang", "o-li", "o-liu", "o-stranger"]))
@example(text="  许愿 两边有空格  ", sender="o-wang")
@example(text="许愿 ＃１\r\n&amp;<![CDATA[x]]>😀 ", sender="o-wang")
@example(text="查询 ＃１", sender="o-li")
def test_any_text_is_answered_and_stored_exactly_as_sent(chat, app, client, text, sender):
    msg_id = next(_msg_ids)
    xml = simulate.build_text_message(sender, text, msg_id=msg_id)
    before = rows(app)
    response = post_sealed(client, xml)
    if response.status_code == 413:  # over the body limit: refused before anything is read
        assert rows(app) == before
        return
    assert response.status_code == 200, response.status_code
    reply = simulate.read_reply(response.data, token=TOKEN, appid=APPID, aes_key=AES_KEY)
    assert reply != BUSY
    stored = stored_text(app, f"wechat:{msg_id}")
    match = ROUTER.match(normalise(text))
    if match is not None and match.command.read_only and sender != "o-stranger":
        assert stored is None  # a known sender's read-only command is answered and not recorded
    else:
        assert stored == as_xml_reads_it(text)


WISH_CHARS = st.characters(categories=("Lo", "So", "Nd", "Lu", "Ll"), exclude_characters="\ufffe\uffff")


@SLOW
@given(content=st.text(alphabet=WISH_CHARS, min_size=1, max_size=200).filter(xml_valid))
def test_a_wish_keeps_exactly_what_the_resident_wrote(chat, app, client, content):
    assume(normalise(content) == content)  # full-width digits and letters fold by design
    reply = chat.say("o-wang", f"许愿 {content}")
    assert reply.startswith("收到您的心愿 #"), reply
    with app.extensions["wishbot"].db.sessions() as session:
        wish = session.scalars(select(Wish).order_by(Wish.id.desc())).first()
    assert wish.content == content


MSG_TYPES = ["text", "image", "voice", "video", "shortvideo", "location", "link", "file", "event",
             "miniprogrampage", "TEXT", "Event", ""]
EVENTS = ["subscribe", "unsubscribe", "SCAN", "LOCATION", "CLICK", "VIEW", "TEMPLATESENDJOBFINISH", "", "click"]


@SLOW
@given(msg_type=st.one_of(st.sampled_from(MSG_TYPES), typed.filter(xml_valid)),
       event=st.one_of(st.sampled_from(EVENTS), typed.filter(xml_valid)),
       key=st.one_of(st.just(""), typed.filter(xml_valid), st.sampled_from(["我的心愿", "帮助", "qrscene_1"])),
       extra=st.dictionaries(st.sampled_from(["Content", "MediaId", "PicUrl", "Recognition", "Label", "Url",
                                              "Title", "Format", "Location_X", "Scale", "Ticket"]),
                             typed.filter(xml_valid), max_size=4))
def test_every_msgtype_and_event_is_answered_never_a_5xx(chat, app, client, msg_type, event, key, extra):
    import xmltodict

    message = {"ToUserName": "gh_wishbot", "FromUserName": "o-wang", "CreateTime": next(_msg_ids) % 10**10,
               "MsgType": msg_type, "Event": event, "EventKey": key, "MsgId": next(_msg_ids), **extra}
    before = rows(app)
    response = post_sealed(client, xmltodict.unparse({"xml": message}, full_document=False))
    assert response.status_code < 500
    if response.status_code == 200:
        assert simulate.read_reply(response.data, token=TOKEN, appid=APPID, aes_key=AES_KEY) != BUSY
    else:
        assert rows(app) == before


HOSTILE_XML = st.one_of(
    st.builds(lambda name, text: (f'<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY {name} "{text}">]>'
                                  f"<xml><ToUserName>g</ToUserName><FromUserName>o-wang</FromUserName>"
                                  f"<CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&{name};</Content>"
                                  f"<MsgId>1</MsgId></xml>"),
              st.sampled_from(["a", "xxe", "lol"]), st.sampled_from(["x" * 10, "&a;&a;", "file:///etc/passwd"])),
    st.just('<!DOCTYPE xml SYSTEM "http://127.0.0.1:1/evil.dtd"><xml><Content>x</Content></xml>'),
    st.binary(max_size=300),  # invalid UTF-8 inside the encryption
    st.builds(lambda text: f"<xml><FromUserName>o-wang</FromUserName><Content>{text}</Content></xml>",
              any_text),
)


@SLOW
@given(plaintext=HOSTILE_XML)
def test_hostile_xml_inside_a_valid_seal_changes_nothing(chat, app, client, plaintext):
    before = rows(app)
    if isinstance(plaintext, bytes):
        try:
            plaintext.decode()
        except UnicodeDecodeError:
            pass
        else:
            assume(False)  # valid UTF-8 bytes are covered by the text strategies
        response = post_sealed_bytes(client, plaintext)
    else:
        try:
            plaintext.encode()
        except UnicodeEncodeError:  # a lone surrogate: not even sendable as UTF-8
            response = post_sealed_bytes(client, plaintext.encode("utf-8", "surrogatepass"))
        else:
            response = post_sealed(client, plaintext)
    assert 400 <= response.status_code < 500, response.status_code
    assert rows(app) == before


def post_sealed_bytes(client, plaintext: bytes):
    """Seal raw bytes (wechatpy only seals text): the same AES layout, done here."""
    import base64
    import os
    import struct

    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    key = base64.b64decode(AES_KEY + "=")
    data = os.urandom(16) + struct.pack(">I", len(plaintext)) + plaintext + APPID.encode()
    pad = 32 - len(data) % 32
    data += bytes([pad]) * pad
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    encrypt = base64.b64encode(encryptor.update(data) + encryptor.finalize()).decode()
    timestamp, nonce = fresh_stamp()
    params = {"timestamp": timestamp, "nonce": nonce, "signature": signature(TOKEN, timestamp, nonce),
              "encrypt_type": "aes", "msg_signature": signature(TOKEN, timestamp, nonce, encrypt)}
    body = f"<xml><ToUserName>gh_wishbot</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    return client.post("/wechat", query_string=params, data=body, content_type="text/xml")


@SLOW
@given(body=st.one_of(st.binary(max_size=600), any_text.map(lambda t: t.encode("utf-8", "surrogatepass"))),
       params=st.dictionaries(st.sampled_from(["signature", "timestamp", "nonce", "encrypt_type", "msg_signature"]),
                              st.text(max_size=50), max_size=5))
def test_an_unsigned_or_garbled_request_changes_nothing(chat, app, client, body, params):
    before = rows(app)
    response = client.post("/wechat", query_string=params, data=body, content_type="text/xml")
    assert 400 <= response.status_code < 500
    assert rows(app) == before
