"""The inbound protocol layer: official test vectors, round trips, and hostile input."""
import xml.etree.ElementTree as ET

import pytest
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.crypto import WeChatCrypto as WeComCrypto

from bot.channels import simulate
from bot.channels.errors import MalformedMessage, SignatureError
from bot.channels.freshness import Freshness, ReplayedRequest, StaleRequest
from bot.channels.wechat import OfficialAccount, signature, unseal
from bot.channels.wecom import WeComApp

TOKEN, APPID = "wishtoken", "wx1234567890abcdef"
KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
OLD_KEY = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg"
OPENID = "oUser123"

# Vector B (PROTOCOL.md)
B_TOKEN, B_APPID = "spamtest", "wx2c2769f8efd9abc2"
B_ARGS = {
    "signature": "16120ec1b8dbb870f510d87ce6bc2463eae6ca1a",
    "timestamp": "1409735669",
    "nonce": "1320562132",
    "encrypt_type": "aes",
    "msg_signature": "5d197aaffba7e9b25a30732f161a50dee96bd5fa",
}
B_ENCRYPT = (
    "hyzAe4OzmOMbd6TvGdIOO6uBmdJoD0Fk53REIHvxYtJlE2B655HuD0m8KUePWB3+LrPXo87wzQ1QLvbeUgmBM4x6F8PGHQ"
    "HFVAFmOD2LdJF9FrXpbUAh0B5GIItb52sn896wVsMSHGuPE328HnRGBcrS7C41IzDWyWNlZkyyXwon8T332jisa+h6tEDY"
    "sVticbSnyU8dKOIbgU6ux5VTjg3yt+WGzjlpKn6NPhRjpA912xMezR4kw6KWwMrCVKSVCZciVGCgavjIQ6X8tCOp3yZbGp"
    "y0VxpAe+77TszTfRd5RJSVO/HTnifJpXgCSUdUue1v6h0EIBYYI1BD1DlD+C0CR8e6OewpusjZ4uBl9FyJvnhvQl+q5rv1"
    "ixrcpCumEPo5MJSgM9ehVsNPfUM669WuMyVWQLCzpu9GhglF2PE="
)
B_PLAINTEXT = "\n".join([
    "<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>",
    "<FromUserName><![CDATA[oyORnuP8q7ou2gfYjqLzSIWZf0rs]]></FromUserName>",
    "<CreateTime>1409735668</CreateTime>",
    "<MsgType><![CDATA[text]]></MsgType>",
    "<Content><![CDATA[abcdteT]]></Content>",
    "<MsgId>6054768590064713728</MsgId>",
    "</xml>",
])
B_BODY = (f"<xml><ToUserName><![CDATA[gh_10f6c3c3ac5a]]></ToUserName>"
          f"<Encrypt><![CDATA[{B_ENCRYPT}]]></Encrypt></xml>").encode()

# Vector C (PROTOCOL.md)
C_TOKEN, C_CORP = "QDG6eK", "wx5823bf96d3bd56c7"
C_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
C_ECHO_ARGS = {
    "msg_signature": "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3",
    "timestamp": "1409659589",
    "nonce": "263014780",
    "echostr": "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO"
               "+FZXvnaqQ==",
}
C_POST_ARGS = {
    "msg_signature": "477715d11cdb4164915debcba66cb864d751f3e6",
    "timestamp": "1409659813",
    "nonce": "1372623149",
}
C_ENCRYPT = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj9"
    "11L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DO"
    "dnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03"
    "v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6Bp"
    "NelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07"
    "+qN+E7Q=="
)
C_BODY = (f"<xml><ToUserName><![CDATA[{C_CORP}]]></ToUserName><AgentID><![CDATA[218]]></AgentID>"
          f"<Encrypt><![CDATA[{C_ENCRYPT}]]></Encrypt></xml>").encode()

ENTITY_BOMB = """<?xml version="1.0"?>
<!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<xml><ToUserName>gh_wishbot</ToUserName><FromUserName>o</FromUserName><CreateTime>1</CreateTime>
<MsgType>text</MsgType><Content>&b;</Content><MsgId>1</MsgId></xml>"""

MODES = [None, "safe", "compatible"]  # None: plaintext


def account(**kw):
    return OfficialAccount(TOKEN, APPID, **{"aes_key": KEY, **kw})


def plain_account(**kw):
    """An account in plaintext mode: no EncodingAESKey configured."""
    return OfficialAccount(TOKEN, APPID, **kw)


def for_mode(mode, **kw):
    return account(**kw) if mode else plain_account(**kw)


def at(timestamp) -> Freshness:
    """The check as it runs at `timestamp`: the official vectors were signed in 2014."""
    return Freshness(clock=lambda: int(timestamp))


def signed(xml, mode=None, **kw):
    if mode is None:
        return simulate.sign_request(xml, token=TOKEN, **kw)
    return simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=KEY, mode=mode, **kw)


def plain_args(timestamp="1700000000", nonce="42"):
    return {"signature": signature(TOKEN, timestamp, nonce), "timestamp": timestamp, "nonce": nonce}


# --- official vectors -------------------------------------------------------------------------

def test_vector_a_signature():
    assert signature("test", "1410685589", "test") == "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff"


def test_vector_a_url_verification_answers_echostr():
    args = {"signature": "f21891de399b4e33a1a93c9a7b8a8fffb5a443ff", "timestamp": "1410685589",
            "nonce": "test", "echostr": "hello-echo"}
    assert OfficialAccount("test", "wx").verify_url(args) == "hello-echo"
    with pytest.raises(SignatureError):
        OfficialAccount("test", "wx").verify_url({**args, "nonce": "other"})


def test_vector_b_url_signature():
    assert signature(B_TOKEN, B_ARGS["timestamp"], B_ARGS["nonce"]) == B_ARGS["signature"]


def test_vector_b_decrypts_byte_for_byte():
    cryptos = {KEY: WeChatCrypto(B_TOKEN, KEY, B_APPID)}
    plaintext, key = unseal(cryptos, B_TOKEN, B_ARGS["msg_signature"], B_ARGS["timestamp"],
                            B_ARGS["nonce"], B_ENCRYPT)
    assert (plaintext, key) == (B_PLAINTEXT, KEY)


def test_vector_b_opens_into_inbound():
    envelope = OfficialAccount(B_TOKEN, B_APPID, KEY, freshness=at(B_ARGS["timestamp"])).open(B_ARGS, B_BODY)
    inbound = envelope.inbound
    assert (inbound.channel, inbound.sender, inbound.kind, inbound.text, inbound.account) == (
        "wechat", "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "text", "abcdteT", "gh_10f6c3c3ac5a")
    assert "6054768590064713728" in inbound.message_key
    assert envelope.encrypted and envelope.aes_key == KEY


def test_vector_b_reply_is_sealed_for_the_user():
    oa = OfficialAccount(B_TOKEN, B_APPID, KEY, freshness=at(B_ARGS["timestamp"]))
    body = oa.render(oa.open(B_ARGS, B_BODY), "收到")
    assert unsealed(body, WeChatCrypto(B_TOKEN, KEY, B_APPID)) == text_reply(
        "oyORnuP8q7ou2gfYjqLzSIWZf0rs", "gh_10f6c3c3ac5a", "收到")
    assert simulate.read_reply(body, token=B_TOKEN, appid=B_APPID, aes_key=KEY) == "收到"


def test_vector_b_still_needs_the_url_signature():
    args = {k: v for k, v in B_ARGS.items() if k != "signature"}
    with pytest.raises(SignatureError):
        OfficialAccount(B_TOKEN, B_APPID, KEY).open(args, B_BODY)


def test_vector_c_url_verification():
    assert WeComApp(C_TOKEN, C_CORP, C_KEY).verify_url(C_ECHO_ARGS) == "1616140317555161061"
    with pytest.raises(SignatureError):
        WeComApp(C_TOKEN, C_CORP, C_KEY).verify_url({**C_ECHO_ARGS, "timestamp": "1409659590"})


def test_vector_c_post():
    envelope = WeComApp(C_TOKEN, C_CORP, C_KEY, freshness=at(C_POST_ARGS["timestamp"])).open(C_POST_ARGS, C_BODY)
    inbound = envelope.inbound
    assert (inbound.channel, inbound.sender, inbound.kind, inbound.text, inbound.agent_id) == (
        "wecom", "mycreate", "text", "hello", "218")
    assert inbound.account == C_CORP
    assert "4561255354251345929" in inbound.message_key
    assert envelope.encrypted and envelope.aes_key == C_KEY


def test_vector_c_wrong_corp_id_is_refused():
    with pytest.raises(MalformedMessage):
        WeComApp(C_TOKEN, "wxOtherCorp", C_KEY).open(C_POST_ARGS, C_BODY)


# --- round trips ------------------------------------------------------------------------------

SEALED = ["Encrypt", "MsgSignature", "TimeStamp", "Nonce"]


def fields(xml: str) -> dict[str, str]:
    """A flat XML message's fields, CreateTime checked to be a number and left out."""
    found = {child.tag: child.text for child in ET.fromstring(xml)}
    assert found.pop("CreateTime").isdigit()
    return found


def unsealed(reply: str, crypto) -> dict[str, str]:
    """A sealed reply, opened with wechatpy's own crypto (not ours): its outer fields are exactly
    the sealed ones, and what is inside is a plain reply's fields."""
    outer = {child.tag: child.text for child in ET.fromstring(reply)}
    assert sorted(outer) == sorted(SEALED)
    return fields(crypto.decrypt_message(reply, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"]))


def text_reply(to: str, by: str, content: str) -> dict[str, str]:
    return {"ToUserName": to, "FromUserName": by, "MsgType": "text", "Content": content}


@pytest.mark.parametrize("mode", MODES)
def test_round_trip(mode):
    xml = simulate.build_text_message(OPENID, "许愿 帮我修水管 <&>", msg_id=987654321)
    args, body = signed(xml, mode)
    oa = for_mode(mode)
    envelope = oa.open(args, body)
    assert envelope.inbound.text == "许愿 帮我修水管 <&>"
    assert envelope.inbound.sender == OPENID and envelope.inbound.account == "gh_wishbot"
    assert envelope.inbound.message_key == "wechat:987654321"
    assert envelope.encrypted is (mode is not None)

    reply = oa.render(envelope, "已收到心愿 #12")
    inside = unsealed(reply, WeChatCrypto(TOKEN, KEY, APPID)) if mode else fields(reply)
    assert inside == text_reply(OPENID, "gh_wishbot", "已收到心愿 #12")
    assert simulate.read_reply(reply, token=TOKEN, appid=APPID, aes_key=KEY if mode else None) \
        == "已收到心愿 #12"


def test_safe_mode_body_carries_no_plaintext_fields():
    _, body = signed(simulate.build_text_message(OPENID, "秘密"), "safe")
    assert "秘密".encode() not in body and OPENID.encode() not in body


def test_plaintext_reply_swaps_sender_and_account():
    oa = plain_account()
    reply = oa.render(oa.open(*signed(simulate.build_text_message(OPENID, "hi"))), "好")
    root = ET.fromstring(reply)
    assert (root.findtext("ToUserName"), root.findtext("FromUserName"), root.findtext("MsgType")) \
        == (OPENID, "gh_wishbot", "text")


def test_no_reply():
    oa = account()
    envelope = oa.open(*signed(simulate.build_text_message(OPENID, "hi"), "safe"))
    assert oa.render(envelope, None) == "success"
    assert simulate.read_reply("success", token=TOKEN) is None
    assert simulate.read_reply(b"", token=TOKEN) is None


def test_wecom_round_trip():
    app = WeComApp(TOKEN, "wwcorp", KEY)
    assert app.verify_url(simulate.sign_wecom_echo("8812", token=TOKEN, corp_id="wwcorp",
                                                   aes_key=KEY)) == "8812"
    xml = simulate.build_text_message("zhangsan", "统计", account="wwcorp", agent_id="1000002",
                                      msg_id=77)
    envelope = app.open(*simulate.sign_wecom_request(xml, token=TOKEN, corp_id="wwcorp",
                                                     aes_key=KEY))
    inbound = envelope.inbound
    assert (inbound.channel, inbound.sender, inbound.text, inbound.agent_id, inbound.message_key) \
        == ("wecom", "zhangsan", "统计", "1000002", "wecom:77")
    reply = app.render(envelope, "本网格 3 个心愿")
    assert unsealed(reply, WeComCrypto(TOKEN, KEY, "wwcorp")) == text_reply("zhangsan", "wwcorp", "本网格 3 个心愿")
    assert simulate.read_reply(reply, token=TOKEN, appid="wwcorp", aes_key=KEY) == "本网格 3 个心愿"
    assert app.render(envelope, None) == ""


# --- reply text that would break the XML -------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_cdata_terminator_in_reply_round_trips(mode):
    oa = for_mode(mode)
    envelope = oa.open(*signed(simulate.build_text_message(OPENID, "x"), mode))
    text = "a]]>b ]]]]> <![CDATA[c]]>"
    reply = oa.render(envelope, text)
    if mode is None:
        assert ET.fromstring(reply).findtext("Content") == text
    key = KEY if mode else None
    assert simulate.read_reply(reply, token=TOKEN, appid=APPID, aes_key=key) == text


def test_characters_xml_forbids_are_dropped_from_replies():
    oa = plain_account()
    reply = oa.render(oa.open(*signed(simulate.build_text_message(OPENID, "x"))), "a\x00b\x1bc")
    assert ET.fromstring(reply).findtext("Content") == "abc"


# --- key rotation -----------------------------------------------------------------------------

def test_message_sealed_with_previous_key_opens_and_is_answered_with_it():
    oa = account(previous_aes_key=OLD_KEY)
    xml = simulate.build_text_message(OPENID, "旧钥匙")
    envelope = oa.open(*simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=OLD_KEY))
    assert envelope.inbound.text == "旧钥匙" and envelope.aes_key == OLD_KEY
    reply = oa.render(envelope, "好")
    assert simulate.read_reply(reply, token=TOKEN, appid=APPID, aes_key=OLD_KEY) == "好"
    with pytest.raises(MalformedMessage):
        simulate.read_reply(reply, token=TOKEN, appid=APPID, aes_key=KEY)


def test_current_key_is_preferred():
    oa = account(previous_aes_key=OLD_KEY)
    envelope = oa.open(*signed(simulate.build_text_message(OPENID, "新"), "safe"))
    assert envelope.aes_key == KEY


def test_message_sealed_with_an_unknown_key_is_refused():
    xml = simulate.build_text_message(OPENID, "x")
    with pytest.raises(MalformedMessage):
        account().open(*simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=OLD_KEY))


# --- signatures -------------------------------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("param", ["signature", "timestamp", "nonce"])
def test_tampered_url_is_refused(mode, param):
    args, body = signed(simulate.build_text_message(OPENID, "x"), mode)
    with pytest.raises(SignatureError):
        for_mode(mode).open({**args, param: args[param] + "1"}, body)


@pytest.mark.parametrize("mode", MODES)
def test_missing_signature_is_refused(mode):
    args, body = signed(simulate.build_text_message(OPENID, "x"), mode)
    del args["signature"]
    with pytest.raises(SignatureError):
        for_mode(mode).open(args, body)


def test_non_ascii_signature_is_refused_not_crashed():
    args, body = signed(simulate.build_text_message(OPENID, "x"))
    with pytest.raises(SignatureError):
        plain_account().open({**args, "signature": "签名"}, body)


def test_wrong_token_is_refused():
    args, body = simulate.sign_request(simulate.build_text_message(OPENID, "x"), token="other")
    with pytest.raises(SignatureError):
        plain_account().open(args, body)


def test_tampered_encrypt_is_refused():
    args, body = signed(simulate.build_text_message(OPENID, "x"), "safe")
    tampered = body.replace(b"<Encrypt>", b"<Encrypt>AAAA")
    with pytest.raises(SignatureError):
        account().open(args, tampered)


def resigned(args, encrypt):
    """A body whose Encrypt is garbage but correctly signed (someone holding the token)."""
    msg_signature = signature(TOKEN, args["timestamp"], args["nonce"], encrypt)
    body = f"<xml><ToUserName>gh_wishbot</ToUserName><Encrypt>{encrypt}</Encrypt></xml>"
    return {**args, "encrypt_type": "aes", "msg_signature": msg_signature}, body.encode()


@pytest.mark.parametrize("encrypt", [
    "!!!notbase64", "QUJD", "A" * 43, "QUJDREVGR0hJSktMTU5PUA==" * 4])
def test_undecryptable_encrypt_is_malformed(encrypt):
    args, _ = signed(simulate.build_text_message(OPENID, "x"), "safe")
    with pytest.raises(MalformedMessage):
        account().open(*resigned(args, encrypt))


def test_message_for_another_app_is_refused():
    xml = simulate.build_text_message(OPENID, "x")
    args, body = simulate.sign_request(xml, token=TOKEN, appid="wxSomeoneElse", aes_key=KEY)
    with pytest.raises(MalformedMessage):
        account().open(args, body)


def test_encrypted_request_without_a_configured_key_is_malformed():
    args, body = signed(simulate.build_text_message(OPENID, "x"), "safe")
    with pytest.raises(MalformedMessage):
        OfficialAccount(TOKEN, APPID).open(args, body)


def test_unknown_encrypt_type_is_malformed():
    args, body = signed(simulate.build_text_message(OPENID, "x"))
    with pytest.raises(MalformedMessage):
        plain_account().open({**args, "encrypt_type": "rsa"}, body)


def test_tampered_reply_is_detected():
    oa = account()
    reply = oa.render(oa.open(*signed(simulate.build_text_message(OPENID, "x"), "safe")), "好")
    with pytest.raises(SignatureError):
        simulate.read_reply(reply.replace("<TimeStamp>", "<TimeStamp>9"),
                            token=TOKEN, appid=APPID, aes_key=KEY)


# --- malformed bodies ---------------------------------------------------------------------------

MALFORMED_BODIES = {
    "empty": b"",
    "garbage": b"\xff\xfe\x00garbage",
    "json": b'{"FromUserName": "o"}',
    "truncated": b"<xml><FromUserName>o</FromUserName>",
    "empty xml": b"<xml/>",
    "text root": b"<xml>hello</xml>",
    "wrong root": b"<message><FromUserName>o</FromUserName></message>",
    "entity bomb": ENTITY_BOMB.encode(),
    "missing FromUserName": b"<xml><ToUserName>g</ToUserName><CreateTime>1</CreateTime>"
                            b"<MsgType>text</MsgType><Content>x</Content><MsgId>1</MsgId></xml>",
    "missing MsgType": b"<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName>"
                       b"<CreateTime>1</CreateTime><Content>x</Content><MsgId>1</MsgId></xml>",
    "empty FromUserName": b"<xml><ToUserName>g</ToUserName><FromUserName></FromUserName>"
                          b"<CreateTime>1</CreateTime><MsgType>text</MsgType></xml>",
    "repeated FromUserName": b"<xml><ToUserName>g</ToUserName><FromUserName>a</FromUserName>"
                             b"<FromUserName>b</FromUserName><CreateTime>1</CreateTime>"
                             b"<MsgType>text</MsgType><MsgId>1</MsgId></xml>",
    "nested Content": b"<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName>"
                      b"<CreateTime>1</CreateTime><MsgType>text</MsgType>"
                      b"<Content><b>x</b></Content><MsgId>1</MsgId></xml>",
    "event without Event": b"<xml><ToUserName>g</ToUserName><FromUserName>o</FromUserName>"
                           b"<CreateTime>1</CreateTime><MsgType>event</MsgType></xml>",
}


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_plaintext_body(body):
    with pytest.raises(MalformedMessage):
        plain_account().open(plain_args(), body)


@pytest.mark.parametrize("body", MALFORMED_BODIES.values(), ids=MALFORMED_BODIES.keys())
def test_malformed_body_inside_the_encryption(body):
    # the hostile plaintext sealed with the real key and correctly signed
    hostile = body.decode("utf-8", "replace")
    sealed = WeChatCrypto(TOKEN, KEY, APPID).encrypt_message(hostile, "n1", "123")
    encrypt = ET.fromstring(sealed).findtext("Encrypt")
    with pytest.raises(MalformedMessage):
        account().open(*resigned(plain_args("123", "n1"), encrypt))


@pytest.mark.parametrize("body", [
    b"", b"garbage", ENTITY_BOMB.encode(), b"<xml><AgentID>1</AgentID></xml>"])
def test_malformed_wecom_body(body):
    with pytest.raises(MalformedMessage):
        WeComApp(C_TOKEN, C_CORP, C_KEY).open(C_POST_ARGS, body)


def test_unsigned_wecom_post_is_refused():
    with pytest.raises(SignatureError):
        WeComApp(C_TOKEN, C_CORP, C_KEY).open({**C_POST_ARGS, "nonce": "1"}, C_BODY)


def test_wecom_echostr_that_does_not_decrypt_is_malformed():
    args = simulate.sign_wecom_echo("x", token=C_TOKEN, corp_id=C_CORP, aes_key=C_KEY)
    encrypt = "QUJD"
    args = {**args, "echostr": encrypt,
            "msg_signature": signature(C_TOKEN, args["timestamp"], args["nonce"], encrypt)}
    with pytest.raises(MalformedMessage):
        WeComApp(C_TOKEN, C_CORP, C_KEY).verify_url(args)


# --- message kinds ------------------------------------------------------------------------------

def opened(xml, mode="safe"):
    return for_mode(mode).open(*signed(xml, mode)).inbound


def test_voice_carries_recognition_and_media():
    inbound = opened(simulate.build_voice_message(OPENID, "许愿买药", media_id="m-1", msg_id=5))
    assert (inbound.kind, inbound.text, inbound.media_id, inbound.message_key) == (
        "voice", "许愿买药", "m-1", "wechat:5")


def test_voice_without_recognition_has_empty_text():
    assert opened(simulate.build_voice_message(OPENID, "")).text == ""


def test_image():
    inbound = opened(simulate.build_image_message(OPENID, "img-9", "http://mmbiz.qpic.cn/x.jpg"))
    assert (inbound.kind, inbound.media_id, inbound.pic_url, inbound.text) == (
        "image", "img-9", "http://mmbiz.qpic.cn/x.jpg", "")


def test_location_text_is_its_label():
    xml = ("<xml><ToUserName>gh_wishbot</ToUserName><FromUserName>o</FromUserName>"
           "<CreateTime>1</CreateTime><MsgType>location</MsgType><Location_X>23.13</Location_X>"
           "<Location_Y>113.26</Location_Y><Scale>20</Scale><Label>广州市天河区</Label>"
           "<MsgId>88</MsgId></xml>")
    inbound = opened(xml, None)
    assert (inbound.kind, inbound.text) == ("location", "广州市天河区")


def test_subscribe_event_key_is_sender_create_time_and_the_event():
    inbound = opened(simulate.build_event(OPENID, "subscribe", create_time=1700000123))
    assert (inbound.kind, inbound.event, inbound.text) == ("event", "subscribe", "")
    assert inbound.message_key.startswith(f"wechat:{OPENID}:1700000123:")


def test_two_events_of_one_second_are_two_deliveries():
    """A location report and a QR scan in the same second: neither is a retry of the other."""
    keys = {opened(simulate.build_event(OPENID, event, event_key=key, create_time=1700000123)).message_key
            for event, key in [("LOCATION", ""), ("SCAN", "r:1/1"), ("SCAN", "r:1/2"), ("subscribe", "qrscene_r:1/1")]}
    assert len(keys) == 4
    long_view = opened(simulate.build_event(OPENID, "VIEW", event_key="https://example.com/" + "x" * 900))
    assert len(long_view.message_key) <= 128


def test_events_are_lower_case_and_keep_their_key():
    inbound = opened(simulate.build_event(OPENID, "CLICK", event_key="MY_WISHES"), None)
    assert (inbound.event, inbound.event_key) == ("click", "MY_WISHES")


def test_retried_delivery_has_the_same_key_and_another_message_does_not():
    xml = simulate.build_event(OPENID, "subscribe", create_time=1700000123)
    assert opened(xml).message_key == opened(xml, "compatible").message_key
    other = simulate.build_event(OPENID, "subscribe", create_time=1700000124)
    assert opened(other).message_key != opened(xml).message_key
    texts = [opened(simulate.build_text_message(OPENID, "x")).message_key for _ in range(2)]
    assert texts[0] != texts[1]


def test_compatible_mode_trusts_the_encrypted_copy():
    xml = simulate.build_text_message(OPENID, "真的")
    args, body = signed(xml, "compatible")
    forged = body.replace("真的".encode(), "假的".encode(), 1)
    assert forged != body
    assert account().open(args, forged).inbound.text == "真的"


# --- with a key, only sealed requests; each fresh and used once -----------------------------------

def test_vector_b_signed_in_2014_is_stale_today():
    with pytest.raises(StaleRequest):
        OfficialAccount(B_TOKEN, B_APPID, KEY).open(B_ARGS, B_BODY)
    with pytest.raises(StaleRequest):
        WeComApp(C_TOKEN, C_CORP, C_KEY).open(C_POST_ARGS, C_BODY)


def test_with_a_key_a_captured_url_with_a_plaintext_body_is_refused():
    args, _ = signed(simulate.build_text_message(OPENID, "帮助"), "safe")
    forged = simulate.build_text_message(OPENID, "审核 12 通过").encode()
    url_only = {k: args[k] for k in ("signature", "timestamp", "nonce")}
    for params in (url_only, {**url_only, "encrypt_type": "raw"}):
        with pytest.raises(SignatureError):
            account().open(params, forged)
    with pytest.raises(MalformedMessage):  # the whole captured URL: the body has no Encrypt
        account().open(args, forged)


def test_with_a_key_a_correctly_signed_plaintext_request_is_refused():
    args, body = signed(simulate.build_text_message(OPENID, "帮助"))  # plaintext mode
    assert plain_account().open(args, body).inbound.text == "帮助"
    with pytest.raises(SignatureError):
        account().open(*signed(simulate.build_text_message(OPENID, "帮助")))


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("offset, fresh", [(-301, False), (-300, True), (0, True), (300, True), (301, False)])
def test_a_timestamp_outside_the_window_is_refused(mode, offset, fresh):
    now = 1_800_000_000
    args, body = signed(simulate.build_text_message(OPENID, "x"), mode, timestamp=now + offset)
    oa = for_mode(mode, freshness=at(now))
    if fresh:
        assert oa.open(args, body).inbound.text == "x"
    else:
        with pytest.raises(StaleRequest):
            oa.open(args, body)


def test_the_window_is_configurable():
    now = 1_800_000_000
    args, body = signed(simulate.build_text_message(OPENID, "x"), "safe", timestamp=now - 61)
    with pytest.raises(StaleRequest):
        account(freshness=Freshness(60, clock=lambda: now)).open(args, body)
    assert account(freshness=Freshness(120, clock=lambda: now)).open(args, body).inbound.text == "x"


@pytest.mark.parametrize("timestamp", ["", "abc", "１７００", "-5", "9" * 40])
def test_a_timestamp_that_is_no_number_is_malformed(timestamp):
    xml = simulate.build_text_message(OPENID, "x")
    with pytest.raises(MalformedMessage):
        plain_account().open(*simulate.sign_request(xml, token=TOKEN, timestamp=timestamp, nonce="7"))


@pytest.mark.parametrize("mode", MODES)
def test_a_replayed_timestamp_and_nonce_is_refused(mode):
    oa = for_mode(mode)
    args, body = signed(simulate.build_text_message(OPENID, "x", msg_id=1), mode)
    oa.open(args, body)
    with pytest.raises(ReplayedRequest):
        oa.open(args, body)
    # another message signed with the same pair (someone holding the token) is refused too
    other, other_body = signed(simulate.build_text_message(OPENID, "y", msg_id=2), mode,
                               timestamp=args["timestamp"], nonce=args["nonce"])
    with pytest.raises(ReplayedRequest):
        oa.open(other, other_body)
    # a new pair for the same message (as a retry would be) passes, to be deduplicated by MsgId
    again, again_body = signed(simulate.build_text_message(OPENID, "x", msg_id=1), mode)
    assert oa.open(again, again_body).inbound.message_key == "wechat:1"


def test_a_refused_request_does_not_use_up_its_pair():
    oa = account()
    args, body = signed(simulate.build_text_message(OPENID, "x"), "safe")
    with pytest.raises(SignatureError):
        oa.open(args, body.replace(b"<Encrypt>", b"<Encrypt>AAAA"))  # tampered on the way
    assert oa.open(args, body).inbound.text == "x"


def test_a_replayed_wecom_request_is_refused():
    app = WeComApp(TOKEN, "wwcorp", KEY)
    xml = simulate.build_text_message("zhangsan", "统计", account="wwcorp", agent_id="1", msg_id=7)
    args, body = simulate.sign_wecom_request(xml, token=TOKEN, corp_id="wwcorp", aes_key=KEY)
    app.open(args, body)
    with pytest.raises(ReplayedRequest):
        app.open(args, body)
    old = simulate.sign_wecom_request(xml, token=TOKEN, corp_id="wwcorp", aes_key=KEY, timestamp=1_000_000_000)
    with pytest.raises(StaleRequest):
        app.open(*old)


def test_pairs_are_forgotten_once_their_timestamp_leaves_the_window():
    from bot.channels.freshness import SeenInMemory

    ticks = [0.0]
    seen = SeenInMemory(clock=lambda: ticks[0])
    assert seen.first_time("a", 10) and not seen.first_time("a", 10)
    ticks[0] = 11
    assert seen.first_time("b", 10) and len(seen._expiry) == 1  # "a" is gone
    capped = SeenInMemory(limit=3, clock=lambda: 0.0)
    assert all(capped.first_time(str(n), 100) for n in range(10)) and len(capped._expiry) == 3
