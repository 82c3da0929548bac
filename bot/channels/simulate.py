"""WeChat's side of the callback protocol: the requests WeChat would send, and reading our replies.

Used by `wishbot say`, the browser chat simulator and the tests. Builders return plaintext XML;
sign_request / sign_wecom_request turn it into the query parameters and body WeChat would send.
read_reply serves WeCom too: pass the CorpID as appid.
"""
from __future__ import annotations

import secrets
import time

import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.channels.errors import MalformedMessage
from bot.channels.wechat import field, parse_xml, signature, unseal

DEFAULT_ACCOUNT = "gh_wishbot"


def _message(openid: str, msg_type: str, fields: dict, *, account: str, create_time: int | None,
             agent_id: str | None) -> str:
    message = {
        "ToUserName": account,
        "FromUserName": openid,
        "CreateTime": int(time.time()) if create_time is None else create_time,
        "MsgType": msg_type,
        **fields,
    }
    if agent_id is not None:
        message["AgentID"] = agent_id
    return xmltodict.unparse({"xml": message}, full_document=False)


def _msg_id(msg_id: int | None) -> int:
    return secrets.randbits(63) if msg_id is None else msg_id


def build_text_message(openid: str, text: str, *, account: str = DEFAULT_ACCOUNT,
                       msg_id: int | None = None, create_time: int | None = None,
                       agent_id: str | None = None) -> str:
    return _message(openid, "text", {"Content": text, "MsgId": _msg_id(msg_id)},
                    account=account, create_time=create_time, agent_id=agent_id)


def build_voice_message(openid: str, recognition: str, media_id: str = "voice-media-id", *,
                        account: str = DEFAULT_ACCOUNT, msg_id: int | None = None,
                        create_time: int | None = None, agent_id: str | None = None) -> str:
    fields = {"MediaId": media_id, "Format": "amr", "Recognition": recognition,
              "MsgId": _msg_id(msg_id)}
    return _message(openid, "voice", fields,
                    account=account, create_time=create_time, agent_id=agent_id)


def build_image_message(openid: str, media_id: str, pic_url: str, *,
                        account: str = DEFAULT_ACCOUNT, msg_id: int | None = None,
                        create_time: int | None = None, agent_id: str | None = None) -> str:
    fields = {"PicUrl": pic_url, "MediaId": media_id, "MsgId": _msg_id(msg_id)}
    return _message(openid, "image", fields,
                    account=account, create_time=create_time, agent_id=agent_id)


def build_event(openid: str, event: str, *, event_key: str = "", account: str = DEFAULT_ACCOUNT,
                create_time: int | None = None, agent_id: str | None = None) -> str:
    return _message(openid, "event", {"Event": event, "EventKey": event_key},
                    account=account, create_time=create_time, agent_id=agent_id)


def _stamp(timestamp: str | int | None, nonce: str | None) -> tuple[str, str]:
    return (str(int(time.time()) if timestamp is None else timestamp),
            nonce or str(secrets.randbelow(10**10)))


def _seal(plaintext: str, token: str, receive_id: str, aes_key: str,
          timestamp: str, nonce: str) -> tuple[str, str]:
    """(Encrypt, msg_signature). WeCom seals the same way, with the CorpID as receive id."""
    crypto = WeChatCrypto(token, aes_key, receive_id)
    sealed = parse_xml(crypto.encrypt_message(plaintext, nonce, timestamp))
    return sealed["Encrypt"], sealed["MsgSignature"]


def sign_request(xml: str, *, token: str, appid: str = "", aes_key: str | None = None,
                 timestamp: str | int | None = None, nonce: str | None = None,
                 mode: str = "safe") -> tuple[dict[str, str], bytes]:
    """An Official Account POST: plaintext when aes_key is None, else "safe" or "compatible"."""
    if mode not in ("safe", "compatible"):
        raise ValueError(f"mode must be 'safe' or 'compatible', not {mode!r}")
    timestamp, nonce = _stamp(timestamp, nonce)
    message = parse_xml(xml)
    params = {"signature": signature(token, timestamp, nonce), "timestamp": timestamp,
              "nonce": nonce, "openid": field(message, "FromUserName")}
    if aes_key is None:
        return params, xml.encode()
    encrypt, msg_signature = _seal(xml, token, appid, aes_key, timestamp, nonce)
    visible = {"ToUserName": message["ToUserName"]} if mode == "safe" else message
    body = xmltodict.unparse({"xml": {**visible, "Encrypt": encrypt}}, full_document=False)
    return {**params, "encrypt_type": "aes", "msg_signature": msg_signature}, body.encode()


def sign_wecom_request(xml: str, *, token: str, corp_id: str, aes_key: str,
                       timestamp: str | int | None = None,
                       nonce: str | None = None) -> tuple[dict[str, str], bytes]:
    """A WeCom application POST."""
    timestamp, nonce = _stamp(timestamp, nonce)
    encrypt, msg_signature = _seal(xml, token, corp_id, aes_key, timestamp, nonce)
    outer = {"ToUserName": corp_id, "AgentID": field(parse_xml(xml), "AgentID"), "Encrypt": encrypt}
    body = xmltodict.unparse({"xml": outer}, full_document=False)
    return {"msg_signature": msg_signature, "timestamp": timestamp, "nonce": nonce}, body.encode()


def sign_wecom_echo(echostr: str, *, token: str, corp_id: str, aes_key: str,
                    timestamp: str | int | None = None, nonce: str | None = None) -> dict[str, str]:
    """The query parameters of WeCom's URL-verification GET."""
    timestamp, nonce = _stamp(timestamp, nonce)
    encrypt, msg_signature = _seal(echostr, token, corp_id, aes_key, timestamp, nonce)
    return {"msg_signature": msg_signature, "timestamp": timestamp, "nonce": nonce,
            "echostr": encrypt}


def read_reply(body: bytes | str, *, token: str, appid: str = "",
               aes_key: str | None = None) -> str | None:
    """The reply's Content, verified and decrypted when sealed; None for "no reply"."""
    body = body.decode() if isinstance(body, bytes) else body
    if body.strip() in ("", "success"):
        return None
    reply = parse_xml(body)
    if "Encrypt" in reply:
        if aes_key is None:
            raise MalformedMessage("the reply is encrypted and no aes_key was given")
        plaintext, _ = unseal({aes_key: WeChatCrypto(token, aes_key, appid)}, token,
                              field(reply, "MsgSignature"), field(reply, "TimeStamp"),
                              field(reply, "Nonce"), field(reply, "Encrypt", required=True))
        reply = parse_xml(plaintext)
    return field(reply, "Content")
