"""The Official Account (公众号) callback protocol: verify, open and answer one request.

Plaintext, compatible and safe modes. wechatpy does the AES and the hashing; this module adds what
it lacks: constant-time signature checks, key rotation, strict parsing into an Inbound, and replies
that stay valid XML whatever their text. WeCom (wecom.py) shares the sealed half through Callback.

message_key is "<channel>:<MsgId>" for messages; events have no MsgId, and are keyed by who sent them
and when, as WeChat advises, and by which event it is (a digest of Event and EventKey):
"<channel>:<FromUserName>:<CreateTime>:<digest>". The same delivery retried by WeChat gets the same
key, while a LOCATION report and a QR scan in the same second stay two deliveries.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass
from xml.parsers.expat import ExpatError

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException
from wechatpy.replies import TextReply
from wechatpy.utils import WeChatSigner, random_string

from bot.channels.errors import MalformedMessage, SignatureError
from bot.channels.freshness import Freshness
from bot.inbound import Inbound

# What wechatpy raises for ciphertext it cannot open: bad base64, block length or UTF-8
# (ValueError), a plaintext too short for its length field (struct.error, IndexError), or one
# sealed for another app or corp -- which is also what a wrong key usually looks like.
_UNOPENABLE = (ValueError, struct.error, IndexError, InvalidAppIdException, InvalidCorpIdException)
_NOT_XML_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_FIELD = {"text": "Content", "voice": "Recognition", "location": "Label"}


@dataclass(frozen=True)
class Envelope:
    """One opened request, kept to render its reply."""

    inbound: Inbound
    encrypted: bool
    aes_key: str | None  # the key that opened it; the reply is sealed with the same one


def signature(token: str, *parts: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, *parts)
    return signer.signature


def check_signature(token: str, given: str | None, *parts: str) -> None:
    # compare_digest refuses non-ASCII str, and `given` is whatever the caller sent
    if not (given and given.isascii() and hmac.compare_digest(signature(token, *parts), given)):
        raise SignatureError("signature does not match")


def unseal(cryptos: Mapping[str, WeChatCrypto], token: str, msg_signature: str | None,
           timestamp: str, nonce: str, encrypt: str) -> tuple[str, str]:
    """Verify msg_signature, then decrypt with the first key that works: (plaintext, key)."""
    check_signature(token, msg_signature, timestamp, nonce, encrypt)
    sealed = {"Encrypt": encrypt}
    for key, crypto in cryptos.items():
        try:
            plaintext = crypto.decrypt_message(sealed, msg_signature, timestamp, nonce)
        except _UNOPENABLE:
            continue
        return plaintext, key
    raise MalformedMessage("no configured EncodingAESKey opens the message")


def parse_xml(data: bytes | str) -> dict:
    """The children of <xml>. xmltodict refuses entity declarations (billion laughs, XXE).
    Text is kept as sent, spaces at its ends included."""
    try:
        root = xmltodict.parse(data, strip_whitespace=False)["xml"]
    except (ExpatError, ValueError, KeyError) as exc:
        raise MalformedMessage(f"unreadable XML: {exc}") from exc
    if not isinstance(root, dict):
        raise MalformedMessage("<xml> has no fields")
    return root


def field(message: Mapping, name: str, *, required: bool = False) -> str:
    value = message.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str):  # missing, repeated, or with child elements
        raise MalformedMessage(f"{name}: missing or not plain text")
    return value


MAX_SENDER = 64  # Person.openid, ProcessedMessage.sender
MAX_MESSAGE_KEY = 128  # ProcessedMessage.key


def _event_digest(message: Mapping) -> str:
    """Which event a delivery without a MsgId is, in 16 characters whatever its EventKey (a menu's
    VIEW carries a whole URL), so the key fits its column."""
    which = f"{field(message, 'Event')}\x00{field(message, 'EventKey')}".encode()
    return hashlib.blake2s(which, digest_size=8).hexdigest()


def to_inbound(message: Mapping, channel: str) -> Inbound:
    sender, account, created, kind = (
        field(message, name, required=True)
        for name in ("FromUserName", "ToUserName", "CreateTime", "MsgType")
    )
    kind = kind.lower()
    message_key = f"{channel}:{field(message, 'MsgId') or f'{sender}:{created}:{_event_digest(message)}'}"
    # WeChat's ids are short; longer ones are forged or broken and would not fit their columns.
    if len(sender) > MAX_SENDER or len(message_key) > MAX_MESSAGE_KEY or "\x00" in sender:
        raise MalformedMessage("sender or message id out of range")
    return Inbound(
        channel=channel,
        sender=sender,
        kind=kind,
        text=field(message, _TEXT_FIELD[kind]) if kind in _TEXT_FIELD else "",
        message_key=message_key,
        event=field(message, "Event", required=kind == "event").lower(),
        event_key=field(message, "EventKey"),
        media_id=field(message, "MediaId"),
        pic_url=field(message, "PicUrl"),
        account=account,
        agent_id=field(message, "AgentID"),
    )


def _cdata(text: str) -> str:
    """Text that stays valid inside wechatpy's unescaped CDATA: split ']]>', drop non-XML chars."""
    return _NOT_XML_CHARS.sub("", text).replace("]]>", "]]]]><![CDATA[>")


class Callback:
    """What the Official Account and WeCom callbacks share: sealed requests and text replies."""

    channel: str
    crypto_class: type = WeChatCrypto
    no_reply: str = "success"  # the body that means "no reply" and stops WeChat's retries

    def __init__(self, token: str, receive_id: str, aes_key: str | None = None,
                 previous_aes_key: str | None = None, freshness: Freshness | None = None):
        self._token = token
        # built now so that a malformed EncodingAESKey fails at start-up, not on a request
        self._cryptos = {key: self.crypto_class(token, key, receive_id)
                         for key in (aes_key, previous_aes_key) if key}
        self.freshness = freshness or Freshness()

    def open(self, args: Mapping[str, str], body: bytes) -> Envelope:
        """POST: the request's message, once every signature is checked and the request is
        fresh and new; raises SignatureError (StaleRequest, ReplayedRequest) or MalformedMessage."""
        envelope = self._open(args, body)
        self.freshness.admit(self.channel, args.get("timestamp"), args.get("nonce"))
        return envelope

    def _open(self, args: Mapping[str, str], body: bytes) -> Envelope:
        raise NotImplementedError

    def _unseal(self, args: Mapping[str, str], encrypt: str) -> tuple[str, str]:
        return unseal(self._cryptos, self._token, args.get("msg_signature"),
                      args.get("timestamp", ""), args.get("nonce", ""), encrypt)

    def _open_sealed(self, args: Mapping[str, str], outer: Mapping) -> Envelope:
        plaintext, key = self._unseal(args, field(outer, "Encrypt", required=True))
        return Envelope(to_inbound(parse_xml(plaintext), self.channel), encrypted=True, aes_key=key)

    def render(self, envelope: Envelope, text: str | None) -> str:
        """The passive reply: sealed when the request was, no_reply when text is None."""
        if text is None:
            return self.no_reply
        inbound = envelope.inbound
        reply = TextReply(source=_cdata(inbound.account), target=_cdata(inbound.sender),
                          content=_cdata(text)).render()
        if not envelope.encrypted:
            return reply
        return self._cryptos[envelope.aes_key].encrypt_message(
            reply, random_string(10), str(int(time.time())))


class OfficialAccount(Callback):
    channel = "wechat"

    def verify_url(self, args: Mapping[str, str]) -> str:
        """GET: the echostr to answer, or SignatureError."""
        self._check(args)
        return args.get("echostr", "")

    def _open(self, args: Mapping[str, str], body: bytes) -> Envelope:
        self._check(args)  # WeChat signs the URL in every mode, aes included
        mode = args.get("encrypt_type") or "raw"
        if self._cryptos and mode != "aes":
            # With a key set, the URL signature alone proves nothing about the body: a captured
            # URL would carry any plaintext body. Only a body under a valid msg_signature counts.
            raise SignatureError("plaintext request while an EncodingAESKey is configured")
        message = parse_xml(body)
        if mode == "raw":
            return Envelope(to_inbound(message, self.channel), encrypted=False, aes_key=None)
        if mode == "aes":
            return self._open_sealed(args, message)
        raise MalformedMessage(f"unknown encrypt_type {mode!r}")

    def _check(self, args: Mapping[str, str]) -> None:
        check_signature(self._token, args.get("signature"),
                        args.get("timestamp", ""), args.get("nonce", ""))
