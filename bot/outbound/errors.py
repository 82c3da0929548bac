"""Typed delivery failures: a job runner retries exactly the ones marked retryable."""
from __future__ import annotations

THROTTLE_CODES = frozenset({45009, 45033, 45047})  # API frequency, concurrency, send-count limits
OUTSIDE_WINDOW = 45015
SYSTEM_BUSY = -1
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid, malformed, expired access token


class DeliveryError(Exception):
    """A message was not delivered. `code` is WeChat's errcode when there is one."""

    retryable = False

    def __init__(self, reason: str, code: int | None = None, retryable: bool | None = None):
        super().__init__(reason)
        self.code = code
        if retryable is not None:
            self.retryable = retryable


class OutsideWindow(DeliveryError):
    """The user has not written to the Official Account in the last 48 hours."""


class Throttled(DeliveryError):
    """A rate limit was hit; sending later may succeed."""

    retryable = True


def error_for(code: int, message: str = "") -> DeliveryError:
    """The typed error for a non-zero WeChat errcode."""
    reason = f"errcode {code}: {message}" if message else f"errcode {code}"
    if code in THROTTLE_CODES:
        return Throttled(reason, code)
    if code == OUTSIDE_WINDOW:
        return OutsideWindow(reason, code)
    # A token error that survived one refetch may be a race with another fetcher; worth a later try.
    return DeliveryError(reason, code, retryable=code == SYSTEM_BUSY or code in TOKEN_ERRORS)
