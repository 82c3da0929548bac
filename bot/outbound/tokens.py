"""Access-token cache shared by every thread and process that calls a WeChat API."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, contextmanager
from typing import Callable, Iterator, Protocol

from redis import Redis
from redis.exceptions import LockError

from bot.outbound.errors import DeliveryError


class TokenStore(Protocol):
    def get(self, name: str) -> str | None: ...

    def set(self, name: str, token: str, ttl: int) -> None: ...

    def delete_if(self, name: str, token: str) -> None:
        """Drop the cached token only while it is still `token`."""

    def lock(self, name: str) -> AbstractContextManager[None]:
        """Held while fetching, so that one fetcher at a time refreshes `name`."""


class MemoryTokenStore:
    """Tokens for the single-process mode."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._fetch_locks: dict[str, threading.Lock] = {}
        self._mutex = threading.Lock()

    def get(self, name: str) -> str | None:
        with self._mutex:
            token, deadline = self._tokens.get(name, (None, 0.0))
            return token if self.clock() < deadline else None

    def set(self, name: str, token: str, ttl: int) -> None:
        with self._mutex:
            self._tokens[name] = (token, self.clock() + ttl)

    def delete_if(self, name: str, token: str) -> None:
        with self._mutex:
            if self._tokens.get(name, (None,))[0] == token:
                del self._tokens[name]

    def lock(self, name: str) -> AbstractContextManager[None]:
        with self._mutex:
            return self._fetch_locks.setdefault(name, threading.Lock())


class RedisTokenStore:
    """Tokens in Redis, shared by the web processes and the workers."""

    _DELETE_IF = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"

    def __init__(self, redis_client: Redis, key_prefix: str = "wishbot:token:", *,
                 lock_timeout: float = 30.0, wait_timeout: float = 30.0):
        self._redis = redis_client
        self._prefix = key_prefix
        self._lock_timeout = lock_timeout  # outlives a fetch, yet frees the lock if its holder dies
        self._wait_timeout = wait_timeout
        self._delete_if = redis_client.register_script(self._DELETE_IF)

    def get(self, name: str) -> str | None:
        token = self._redis.get(self._prefix + name)
        return token.decode() if isinstance(token, bytes) else token

    def set(self, name: str, token: str, ttl: int) -> None:
        self._redis.set(self._prefix + name, token, ex=ttl)

    def delete_if(self, name: str, token: str) -> None:
        self._delete_if(keys=[self._prefix + name], args=[token])

    @contextmanager
    def lock(self, name: str) -> Iterator[None]:
        lock = self._redis.lock(self._prefix + name + ":lock", timeout=self._lock_timeout,
                                blocking_timeout=self._wait_timeout)
        if not lock.acquire():
            raise DeliveryError(f"timed out waiting for the {name} token lock", retryable=True)
        try:
            yield
        finally:
            try:
                lock.release()
            except LockError:
                pass  # it expired: a slow fetch outlived lock_timeout, and someone else may hold it now


class AccessToken:
    """One API's access token: cached in `store`, fetched by one fetcher at a time."""

    def __init__(self, name: str, fetch: Callable[[], tuple[str, int]], store: TokenStore):
        self._name = name
        self._fetch = fetch
        self._store = store

    def get(self) -> str:
        token = self._store.get(self._name)
        if token:
            return token
        with self._store.lock(self._name):
            token = self._store.get(self._name)  # another fetcher may have refreshed it while we waited
            if not token:
                token, expires_in = self._fetch()
                # Expire it early so that no call goes out with a token about to lapse in flight.
                self._store.set(self._name, token, max(1, expires_in * 9 // 10))
            return token

    def invalidate(self, token: str) -> None:
        """Report `token` rejected; a token someone already replaced stays replaced."""
        self._store.delete_if(self._name, token)
