"""WeCom's AI bot (智能机器人) in internal groups: JSON callbacks sealed like WeCom's, with an empty
receive id. It hears a group message only when @-mentioned; the `@name` is taken off and the rest
is a command from the sender's WeCom identity. The reply is sealed JSON: a finished `stream`."""
from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Mapping

from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.errors import MalformedMessage
from bot.channels.freshness import Freshness
from bot.channels.wechat import MAX_MESSAGE_KEY, MAX_SENDER, parse_xml, unseal
from bot.inbound import Inbound

RECEIVE_ID = ""  # the AI bot's callbacks name no corp
_MENTION = re.compile(r"^(?:\s*@\S+)+\s*")


class WeComAIBot:
    channel = "wecom"

    def __init__(self, token: str, aes_key: str, freshness: Freshness | None = None):
        self._token = token
        self._cryptos = {aes_key: WeChatCrypto(token, aes_key, RECEIVE_ID)}
        self.freshness = freshness or Freshness()

    def verify_url(self, args: Mapping[str, str]) -> str:
        """GET: the decrypted echostr; SignatureError or MalformedMessage."""
        return self._unseal(args, args.get("echostr", ""))

    def open(self, args: Mapping[str, str], body: bytes) -> Inbound | None:
        """POST: the command in an @-mention (None for anything else), once the signature is checked
        and the request is fresh and new; raises SignatureError (StaleRequest, ReplayedRequest)
        or MalformedMessage."""
        try:
            outer = json.loads(body)
        except ValueError as error:
            raise MalformedMessage(f"unreadable JSON: {error}") from error
        encrypt = outer.get("encrypt") if isinstance(outer, dict) else None
        if not isinstance(encrypt, str):
            raise MalformedMessage("no encrypt field")
        try:
            message = json.loads(self._unseal(args, encrypt))
            sender, msgid, kind = message["from"]["userid"], message["msgid"], message["msgtype"]
        except (ValueError, KeyError, TypeError) as error:
            raise MalformedMessage(f"not an AI bot message: {error}") from error
        if not all(isinstance(v, str) and v for v in (sender, msgid, kind)) or len(sender) > MAX_SENDER:
            raise MalformedMessage("bad sender, msgid or msgtype")
        self.freshness.admit("aibot", args.get("timestamp"), args.get("nonce"))
        key = f"aibot:{msgid}"
        if kind != "text" or len(key) > MAX_MESSAGE_KEY:
            return None
        content = (message.get("text") or {}).get("content")
        if not isinstance(content, str):
            raise MalformedMessage("text without content")
        return Inbound(channel=self.channel, sender=sender, kind="text", text=_MENTION.sub("", content),
                       message_key=key, account=str(message.get("aibotid", "")))

    def render(self, text: str | None, nonce: str | None = None, timestamp: str | None = None) -> str:
        """The sealed JSON reply: the whole answer as one finished stream ("" for none)."""
        if text is None:
            return ""
        plain = json.dumps({"msgtype": "stream", "stream": {
            "id": secrets.token_hex(8), "finish": True, "content": text}}, ensure_ascii=False)
        nonce, timestamp = nonce or secrets.token_hex(5), timestamp or str(int(time.time()))
        crypto = next(iter(self._cryptos.values()))
        sealed = parse_xml(crypto.encrypt_message(plain, nonce, timestamp))
        return json.dumps({"encrypt": sealed["Encrypt"], "msgsignature": sealed["MsgSignature"],
                           "timestamp": int(timestamp), "nonce": nonce})

    def _unseal(self, args: Mapping[str, str], encrypt: str) -> str:
        return unseal(self._cryptos, self._token, args.get("msg_signature"),
                      args.get("timestamp", ""), args.get("nonce", ""), encrypt)[0]
