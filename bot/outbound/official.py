"""Official Account API: customer-service messages and media downloads."""
from __future__ import annotations

import json

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

    # --- menus and user tags -----------------------------------------------------------------

    def delete_menus(self) -> None:
        """Remove the default menu and every personalised one (menu/create replaces only the default)."""
        checked(self._call("GET", "/cgi-bin/menu/delete"))

    def create_menu(self, buttons: list[dict]) -> None:
        checked(self._call("POST", "/cgi-bin/menu/create", headers=JSON_UTF8, data=_utf8({"button": buttons})))

    def add_conditional_menu(self, buttons: list[dict], tag_id: int) -> str:
        """A personalised menu for users carrying the tag; returns its menuid."""
        body = checked(self._call("POST", "/cgi-bin/menu/addconditional", headers=JSON_UTF8, data=_utf8(
            {"button": buttons, "matchrule": {"tag_id": str(tag_id)}})))
        return str(body.get("menuid", ""))

    def tags(self) -> dict[str, int]:
        """The account's user tags, name -> id."""
        body = checked(self._call("GET", "/cgi-bin/tags/get"))
        return {tag["name"]: int(tag["id"]) for tag in body.get("tags", [])}

    def create_tag(self, name: str) -> int:
        body = checked(self._call("POST", "/cgi-bin/tags/create", headers=JSON_UTF8, data=_utf8({"tag": {"name": name}})))
        return int(body["tag"]["id"])

    def tag_users(self, openids: list[str], tag_id: int) -> None:
        """At most 50 openids a call (WeChat's limit)."""
        checked(self._call("POST", "/cgi-bin/tags/members/batchtagging",
                           json={"openid_list": openids, "tagid": tag_id}))

    def untag_users(self, openids: list[str], tag_id: int) -> None:
        checked(self._call("POST", "/cgi-bin/tags/members/batchuntagging",
                           json={"openid_list": openids, "tagid": tag_id}))

    def tags_of(self, openid: str) -> list[int]:
        body = checked(self._call("POST", "/cgi-bin/tags/getidlist", json={"openid": openid}))
        return [int(tag_id) for tag_id in body.get("tagid_list", [])]

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

    def create_qrcode(self, scene: str) -> dict:
        """A permanent parametric QR code (QR_LIMIT_STR_SCENE): {"ticket", "url"}; `url` is what
        the code encodes. Scanning it sends `subscribe` with EventKey `qrscene_<scene>` (or `SCAN`
        with EventKey `<scene>` from a follower)."""
        return checked(self._call("POST", "/cgi-bin/qrcode/create", json={
            "action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": scene}}}))


JSON_UTF8 = {"Content-Type": "application/json; charset=utf-8"}


def _utf8(payload: dict) -> bytes:
    """JSON with Chinese as UTF-8, not \\u escapes: WeChat shows menu and tag names as sent."""
    return json.dumps(payload, ensure_ascii=False).encode()
