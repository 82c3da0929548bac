"""The periodic jobs: the relay of pending notices, reminders, the daily digests, the
hourly purge of processed-message records past their retention (bot/retention.py), and every
minute the figures' roll-up (bot/rollup.py).

Every `wishbot worker` runs a clock (and `wishbot serve` does without Redis). Each run of a job
has a name, which one clock claims (`SET NX` in Redis), so that however many processes tick,
each run is enqueued once. The clock only enqueues; the jobs run where every job runs (a
worker, or the in-process runner), so a slow digest never delays the next tick.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from .jobs import PURGE_PROCESSED, REFRESH_FIGURES, RELAY_NOTICES, SEND_DIGESTS, SEND_REMINDERS
from .settings import Settings

log = logging.getLogger(__name__)

RELAY_MIN_AGE = 2  # seconds: younger rows are still being handed over by the process that wrote them
FIGURES_EVERY = 60  # seconds between the roll-up's looks (bot/rollup.py): what a figures page counts live

Claim = Callable[[str, int], bool]  # (run name, seconds to remember it) -> this clock runs it


def redis_claims(client) -> Claim:
    return lambda run, ttl: bool(client.set(f"wishbot:clock:{run}", os.getpid(), nx=True, ex=ttl))


def memory_claims() -> Claim:
    """For a single process without Redis."""
    seen: dict[str, float] = {}

    def claim(run: str, ttl: int) -> bool:
        now = time.monotonic()
        if seen.get(run, 0) > now:
            return False
        seen[run] = now + ttl
        return True

    return claim


class Clock(threading.Thread):
    TICK = 1.0

    def __init__(self, settings: Settings, jobs, claim: Claim):
        super().__init__(name="wishbot-clock", daemon=True)
        self.settings = settings
        self.jobs = jobs
        self.claim = claim
        self.zone = ZoneInfo(settings.timezone)

    def run(self) -> None:
        failing = False
        while True:
            try:
                self.tick(datetime.now(self.zone))
                failing = False
            except Exception as error:  # Redis down: the next tick tries again
                if not failing:
                    log.warning("clock stopped ticking: %s", error)
                failing = True
            time.sleep(self.TICK)

    def tick(self, now: datetime) -> None:
        s = self.settings
        self.once(f"relay:{int(time.time() // s.relay_seconds)}", s.relay_seconds * 2,
                  RELAY_NOTICES, RELAY_MIN_AGE)
        self.once(f"reminders:{now:%Y-%m-%dT%H}", 7200, SEND_REMINDERS, f"{now:%Y-%m-%dT%H}")
        self.once(f"purge:{now:%Y-%m-%dT%H}", 7200, PURGE_PROCESSED, f"{now:%Y-%m-%dT%H}")
        slot = int(now.timestamp() // FIGURES_EVERY)
        self.once(f"figures:{slot}", FIGURES_EVERY * 2, REFRESH_FIGURES, slot)
        if now.hour >= s.digest_hour:  # a clock started late in the day still sends the day's digest
            self.once(f"digests:{now:%Y-%m-%d}", 2 * 86400, SEND_DIGESTS, f"{now:%Y-%m-%d}")

    def once(self, run: str, ttl: int, name: str, arg) -> None:
        if self.claim(run, ttl):
            self.jobs.call(name, arg)
