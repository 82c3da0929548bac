"""A local stand-in for WeChat's web authorisation: the authorize page (which sends the browser
back to `redirect_uri` with a one-time code and the caller's `state`) and the code exchange
at sns/oauth2/access_token, served by pytest-httpserver."""
from __future__ import annotations

import itertools
import json
from urllib.parse import urlencode

from werkzeug import Request, Response

APPID_ERRORS = {"errcode": 40013, "errmsg": "invalid appid"}
BAD_CODE = {"errcode": 40029, "errmsg": "invalid code"}


class WeChatOAuth:
    """`signed_in` is the openid of whoever holds the phone; codes work once."""

    def __init__(self, httpserver, appid: str, secret: str):
        self.appid, self.secret = appid, secret
        self.signed_in: str | None = None
        self.codes: dict[str, str] = {}
        self.authorize_calls: list[dict] = []
        self._numbers = itertools.count(1)
        httpserver.expect_request("/connect/oauth2/authorize").respond_with_handler(self.authorize)
        httpserver.expect_request("/sns/oauth2/access_token", method="GET").respond_with_handler(self.exchange)

    def authorize(self, request: Request) -> Response:
        args = request.args.to_dict()
        self.authorize_calls.append(args)
        if args.get("appid") != self.appid:
            return Response(json.dumps(APPID_ERRORS), content_type="application/json")
        assert args["response_type"] == "code" and args["scope"] == "snsapi_base", args
        code = f"CODE{next(self._numbers)}"
        self.codes[code] = self.signed_in
        return Response(status=302, headers={
            "Location": f"{args['redirect_uri']}?{urlencode({'code': code, 'state': args['state']})}"})

    def exchange(self, request: Request) -> Response:
        args = request.args
        if (args.get("appid"), args.get("secret"), args.get("grant_type")) != (
                self.appid, self.secret, "authorization_code"):
            return Response(json.dumps(APPID_ERRORS), content_type="application/json")
        openid = self.codes.pop(args.get("code", ""), None)  # a code works once
        if openid is None:
            return Response(json.dumps(BAD_CODE), content_type="application/json")
        return Response(json.dumps({"access_token": "WEB-TOKEN", "expires_in": 7200, "refresh_token": "R",
                                    "openid": openid, "scope": "snsapi_base"}), content_type="application/json")


def tampered(token: str) -> str:
    """A wish link's token with its signature changed where it counts: the first character
    (the last one carries two bits that base64 decoding ignores, so changing it may change nothing)."""
    payload, signature = token.rsplit(".", 1)
    return f"{payload}.{'B' if signature[0] == 'A' else 'A'}{signature[1:]}"
