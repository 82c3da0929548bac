"""The WeCom (企业微信) application callback protocol: always sealed, the receive id is the CorpID."""
from __future__ import annotations

from collections.abc import Mapping

from wechatpy.enterprise.crypto import WeChatCrypto

from bot.channels.freshness import Freshness
from bot.channels.wechat import Callback, Envelope, parse_xml


class WeComApp(Callback):
    channel = "wecom"
    crypto_class = WeChatCrypto
    no_reply = ""  # WeCom: an empty 200 means "no reply"

    def __init__(self, token: str, corp_id: str, aes_key: str, previous_aes_key: str | None = None,
                 freshness: Freshness | None = None):
        super().__init__(token, corp_id, aes_key, previous_aes_key, freshness)

    def verify_url(self, args: Mapping[str, str]) -> str:
        """GET: the decrypted echostr to answer; raises SignatureError or MalformedMessage."""
        return self._unseal(args, args.get("echostr", ""))[0]

    def _open(self, args: Mapping[str, str], body: bytes) -> Envelope:
        return self._open_sealed(args, parse_xml(body))
