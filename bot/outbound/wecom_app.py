"""WeCom application messages, sent to members by their userid."""
from __future__ import annotations

import logging
from collections.abc import Sequence

import requests

from bot.outbound._api import TokenAPI, checked
from bot.outbound.errors import DeliveryError
from bot.outbound.tokens import TokenStore

log = logging.getLogger(__name__)


class WeComAPI(TokenAPI):
    def __init__(self, api_base: str, corp_id: str, agent_id: str | int, secret: str, store: TokenStore,
                 timeout: float, session: requests.Session | None = None):
        super().__init__(api_base, f"wecom:{corp_id}:{agent_id}", store, timeout, session)
        self._corp_id = corp_id
        self._agent_id = int(agent_id)
        self._secret = secret

    def _fetch_token(self) -> tuple[str, int]:
        body = checked(self._request("GET", "/cgi-bin/gettoken",
                                     params={"corpid": self._corp_id, "corpsecret": self._secret}))
        return body["access_token"], int(body["expires_in"])

    def send_text(self, userids: Sequence[str], content: str) -> None:
        body = checked(self._call("POST", "/cgi-bin/message/send", json={
            "touser": "|".join(userids), "agentid": self._agent_id, "msgtype": "text",
            "text": {"content": content}}))
        # WeCom answers errcode 0 when some recipients are unknown; when none is left, nothing went.
        invalid = [user for user in (body.get("invaliduser") or "").split("|") if user]
        if invalid and set(invalid) >= set(userids):
            raise DeliveryError(f"WeCom knows none of {', '.join(invalid)}", retryable=False)
        if invalid:
            log.warning("WeCom skipped unknown users: %s", body["invaliduser"])
