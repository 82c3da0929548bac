"""Official Account API: customer-service messages and media downloads."""
from __future__ import annotations

import requests

from bot.outbound._api import TokenAPI, checked, json_body, raise_for_errcode
from bot.outbound.errors import DeliveryError
from bot.outbound.tokens import TokenStore


class OfficialAccountAPI(TokenAPI):
    def __init__(self, api_base: str, appid: str, secret: str, store: TokenStore, timeout: float,
                 session: requests.Session | None = None):
        super().__init__(api_base, f"official:{appid}", store, timeout, session)
        self._appid = appid
        self._secret = secret

    def _fetch_token(self) -> tuple[str, int]:
        # stable_token hands every caller the same token while it is valid, unlike /cgi-bin/token.
        body = checked(self._request("POST", "/cgi-bin/stable_token", json={
            "grant_type": "client_credential", "appid": self._appid, "secret": self._secret}))
        return body["access_token"], int(body["expires_in"])

    def send_text(self, openid: str, content: str) -> None:
        """A customer-service text message; OutsideWindow if the user has been silent for 48 h."""
        checked(self._call("POST", "/cgi-bin/message/custom/send", json={
            "touser": openid, "msgtype": "text", "text": {"content": content}}))

    def send_template(self, openid: str, template_id: str, data: dict[str, str], *, url: str | None = None,
                      client_msg_id: str | None = None) -> None:
        """A template message (no 48-hour window). `client_msg_id` makes WeChat drop a repeat
        within 10 minutes, so a retried send reaches the user once; wechatpy's send_template
        has no such field, hence our own JSON."""
        payload: dict = {"touser": openid, "template_id": template_id,
                         "data": {key: {"value": value} for key, value in data.items()}}
        if url:
            payload["url"] = url
        if client_msg_id:
            payload["client_msg_id"] = client_msg_id
        checked(self._call("POST", "/cgi-bin/message/template/send", json=payload))

    def openid_for_code(self, code: str) -> str:
        """Web authorisation (snsapi_base): the openid of whoever WeChat sent back with `code`.
        A code works once and for five minutes; a bad one is errcode 40029 (a DeliveryError)."""
        body = checked(self._request("GET", "/sns/oauth2/access_token", params={
            "appid": self._appid, "secret": self._secret, "code": code, "grant_type": "authorization_code"}))
        openid = body.get("openid")
        if not openid:
            raise DeliveryError("web authorisation answered without an openid")
        return openid

    def download_media(self, media_id: str) -> bytes:
        response = self._call("GET", "/cgi-bin/media/get", params={"media_id": media_id})
        body = json_body(response)
        if body is not None:
            raise_for_errcode(body)
        return response.content
