"""Links to a wish's phone page, signed so that a link names one wish and cannot be made up
for another: nobody walks the wish list by counting."""
from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "wishbot.wish-page"
PAGE_PATH = "/w/"


class WishLinks:
    def __init__(self, public_url: str, secret_key: str):
        self.public_url = public_url.rstrip("/")
        self._signer = URLSafeSerializer(secret_key, salt=SALT)

    def token(self, wish_id: int) -> str:
        return self._signer.dumps(wish_id)

    def page_url(self, wish_id: int) -> str:
        return f"{self.public_url}{PAGE_PATH}{self.token(wish_id)}"

    def wish_id(self, token: str) -> int | None:
        """The wish a token names, or None when it was not signed here."""
        try:
            value = self._signer.loads(token)
        except BadSignature:
            return None
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def links_of(session) -> WishLinks | None:
    """The links of the runtime that opened this session (None: WISHBOT_PUBLIC_URL unset)."""
    return session.info.get("links") if session is not None else None
