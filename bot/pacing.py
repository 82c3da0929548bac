"""The send budget of each group robot, shared by every process that pushes to it.

A token bucket: `burst` messages may go at once, then one every `interval` seconds. With
burst + 60 / interval == per_minute, no 60-second window ever holds more than `per_minute`
messages, and a robot under load still sends every `interval` seconds: what waits meanwhile
is merged into the next message instead of being held back for a minute.
"""
from __future__ import annotations

import hashlib
import math
import threading
import time
from dataclasses import dataclass

WINDOW = 60.0


@dataclass(frozen=True)
class Budget:
    burst: int
    interval: float  # seconds per refilled message

    @classmethod
    def per_minute(cls, limit: int) -> "Budget":
        if limit < 1:
            raise ValueError("a robot must be allowed at least one message a minute")
        burst = max(1, limit // 4)
        return cls(burst, WINDOW / max(1, limit - burst))


def robot_key(target: str) -> str:
    """A short stable name for a robot (its target holds the webhook key: keep it out of logs)."""
    return hashlib.sha1(target.encode()).hexdigest()[:16]


class MemoryPacer:
    """The bucket for the single-process mode."""

    def __init__(self, budget: Budget, clock=time.monotonic):
        self.budget = budget
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # robot -> (tokens, as of)
        self._mutex = threading.Lock()

    def _refilled(self, robot: str, now: float) -> tuple[float, float]:
        tokens, since = self._buckets.get(robot, (float(self.budget.burst), now))
        if now > since:
            tokens, since = min(self.budget.burst, tokens + (now - since) / self.budget.interval), now
        return tokens, since

    def available(self, target: str) -> int:
        with self._mutex:
            return int(self._refilled(robot_key(target), self._clock())[0])

    def take(self, target: str) -> float:
        """Spend one message: 0 when granted, else the seconds until one is free."""
        robot, now = robot_key(target), self._clock()
        with self._mutex:
            tokens, since = self._refilled(robot, now)
            if tokens >= 1:
                self._buckets[robot] = (tokens - 1, since)
                return 0.0
            self._buckets[robot] = (tokens, since)
            return max(since - now, 0) + (1 - tokens) * self.budget.interval

    def hold(self, target: str, seconds: float) -> None:
        """The robot said it is throttled: send nothing for `seconds`."""
        with self._mutex:
            self._buckets[robot_key(target)] = (0.0, self._clock() + seconds)


# KEYS[1]: the bucket hash. ARGV: mode (available|take|hold), burst, interval, hold seconds.
# Time comes from the Redis server, so processes on machines with skewed clocks agree.
_BUCKET = """
local burst, interval = tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'since')
local tokens, since = tonumber(state[1]) or burst, tonumber(state[2]) or now
if now > since then
  tokens = math.min(burst, tokens + (now - since) / interval)
  since = now
end
local answer
if ARGV[1] == 'available' then
  return math.floor(tokens)
elseif ARGV[1] == 'hold' then
  tokens, since, answer = 0, now + tonumber(ARGV[4]), 0
elseif tokens >= 1 then
  tokens, answer = tokens - 1, 0
else
  answer = math.ceil((math.max(since - now, 0) + (1 - tokens) * interval) * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'since', tostring(since))
redis.call('EXPIRE', KEYS[1], 3600)
return answer
"""


class RedisPacer:
    """The bucket in Redis, so that web processes and every worker share one budget per robot."""

    def __init__(self, redis_client, budget: Budget, prefix: str = "wishbot:robot-budget:"):
        self.budget = budget
        self._prefix = prefix
        self._script = redis_client.register_script(_BUCKET)

    def _call(self, mode: str, target: str, hold: float = 0) -> int:
        return int(self._script(keys=[self._prefix + robot_key(target)],
                                args=[mode, self.budget.burst, repr(self.budget.interval), repr(hold)]))

    def available(self, target: str) -> int:
        return self._call("available", target)

    def take(self, target: str) -> float:
        return self._call("take", target) / 1000

    def hold(self, target: str, seconds: float) -> None:
        self._call("hold", target, math.ceil(seconds))
