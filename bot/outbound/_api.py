"""HTTP plumbing shared by the outbound clients: timeouts, typed errors, access-token retry."""
from __future__ import annotations

from typing import Any

import requests

from bot.outbound.errors import TOKEN_ERRORS, DeliveryError, Throttled, error_for
from bot.outbound.tokens import AccessToken, TokenStore


def request(session: requests.Session, method: str, url: str, timeout: float, **kwargs: Any) -> requests.Response:
    """Send one request; every failure comes out as a DeliveryError."""
    try:
        response = session.request(method, url, timeout=timeout, **kwargs)
    except requests.RequestException as exc:
        # requests' URL errors (MissingSchema, InvalidURL…) subclass ValueError: they won't fix themselves.
        raise DeliveryError(f"{type(exc).__name__}: {exc}", retryable=not isinstance(exc, ValueError)) from exc
    status = response.status_code
    if status == 429:
        raise Throttled("HTTP 429")
    if status >= 400:
        raise DeliveryError(f"HTTP {status}", retryable=status >= 500)
    return response


def json_body(response: requests.Response) -> dict | None:
    """The JSON object in the body, or None when the body is something else (a media file)."""
    if not response.content.lstrip().startswith(b"{"):
        return None
    try:
        return response.json()
    except ValueError:
        return None


def raise_for_errcode(body: dict) -> None:
    code = body.get("errcode") or 0
    if code:
        raise error_for(code, body.get("errmsg", ""))


def checked(response: requests.Response) -> dict:
    """The JSON result of a call, or the typed error it reports."""
    body = json_body(response)
    if body is None:
        raise DeliveryError("response is not a JSON object", retryable=True)
    raise_for_errcode(body)
    return body


class TokenAPI:
    """A WeChat API authenticated with an access token shared through a TokenStore."""

    def __init__(self, api_base: str, token_name: str, store: TokenStore, timeout: float,
                 session: requests.Session | None):
        self._base = api_base.rstrip("/")
        self._timeout = timeout
        self._session = session or requests.Session()
        self._token = AccessToken(token_name, self._fetch_token, store)

    def _fetch_token(self) -> tuple[str, int]:
        raise NotImplementedError

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return request(self._session, method, self._base + path, self._timeout, **kwargs)

    def _call(self, method: str, path: str, params: dict | None = None, **kwargs: Any) -> requests.Response:
        """Call with the access token; on a token error refetch it once and call again."""
        def attempt(token: str) -> requests.Response:
            return self._request(method, path, params={**(params or {}), "access_token": token}, **kwargs)

        token = self._token.get()
        response = attempt(token)
        body = json_body(response)
        if body is not None and body.get("errcode") in TOKEN_ERRORS:
            self._token.invalidate(token)
            response = attempt(self._token.get())
        return response
