"""A signed request is good once, and only while it is fresh.

WeChat signs (token, timestamp, nonce): without a window a captured URL stays valid forever, and
without remembering the pairs already used it can be sent again at once. A request whose
timestamp is more than `window` seconds from now is refused, and so is a second request with
a (timestamp, nonce) already admitted; a pair is remembered only while its timestamp is inside
the window, so memory stays bounded.

WeChat retries a delivery it got no answer to within 5 s; the retry carries the same MsgId, which
bot/conversation.py answers with the stored reply. WeChat's documentation does not say whether a
retry is signed anew: if one reused the first try's (timestamp, nonce), it is refused here,
after its message took effect once (see the README's security section).

With Redis the pairs are shared by every process (SET NX with an expiry); without it, or while
it does not answer, this process keeps them.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from typing import Callable, Protocol

from .errors import MalformedMessage, SignatureError

log = logging.getLogger(__name__)

DEFAULT_WINDOW = 300  # seconds, WISHBOT_TIMESTAMP_WINDOW
MAX_NONCE = 64  # WeChat's are about ten digits


class StaleRequest(SignatureError):
    """The timestamp is outside the window."""


class ReplayedRequest(SignatureError):
    """This (timestamp, nonce) was already admitted."""


class SeenPairs(Protocol):
    def first_time(self, key: str, ttl: int) -> bool: ...


class SeenInMemory:
    """The pairs this process admitted, each kept `ttl` seconds; at most `limit` of them (only
    signed requests get here, so the limit is a backstop, not a defence)."""

    def __init__(self, limit: int = 200_000, clock: Callable[[], float] = time.monotonic):
        self._expiry: OrderedDict[str, float] = OrderedDict()
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()

    def first_time(self, key: str, ttl: int) -> bool:
        now = self._clock()
        with self._lock:
            while self._expiry and (len(self._expiry) >= self._limit or next(iter(self._expiry.values())) <= now):
                self._expiry.popitem(last=False)  # insertion order is nearly expiry order
            expiry = self._expiry.get(key)
            if expiry is not None and expiry > now:
                return False
            self._expiry[key] = now + ttl
            return True


class SeenInRedis:
    """The pairs every process admitted. Redis is asked with the short timeouts of the reply
    path; when it does not answer, this process's own memory stands in."""

    PREFIX = "wishbot:nonce:"

    def __init__(self, client, fallback: SeenPairs | None = None):
        self._client = client
        self._fallback = fallback or SeenInMemory()

    def first_time(self, key: str, ttl: int) -> bool:
        from redis.exceptions import RedisError

        try:
            return bool(self._client.set(self.PREFIX + key, b"1", nx=True, ex=ttl))
        except RedisError as error:
            log.warning("replay check on this process only: Redis did not answer (%s)", error)
            return self._fallback.first_time(key, ttl)


class Freshness:
    def __init__(self, window: int = DEFAULT_WINDOW, seen: SeenPairs | None = None,
                 clock: Callable[[], float] = time.time):
        self.window = window
        self.seen = seen if seen is not None else SeenInMemory()
        self.clock = clock  # wall-clock seconds; tests of the official vectors set their time

    def admit(self, channel: str, timestamp: str | None, nonce: str | None) -> None:
        """Raises StaleRequest, ReplayedRequest or MalformedMessage; call it once the request's
        signatures have been checked, so that a forged request cannot use up a pair."""
        if not (timestamp and timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise MalformedMessage("timestamp missing or not a number")
        if not nonce or len(nonce) > MAX_NONCE:
            raise MalformedMessage("nonce missing or too long")
        left = int(timestamp) + self.window - self.clock()  # seconds the pair stays acceptable
        if left < 0 or left > 2 * self.window:
            raise StaleRequest(f"timestamp {timestamp} is outside the {self.window}s window")
        if not self.seen.first_time(f"{channel}:{timestamp}:{nonce}", int(left) + 1):
            raise ReplayedRequest(f"timestamp {timestamp} and nonce {nonce} were already used")
