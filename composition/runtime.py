"""Everything a process builds from Settings, built on demand and never at import time."""
from __future__ import annotations

import logging
from functools import cached_property

from bot.db import Database
from bot.jobs import RELAY_NOTICES, checked
from bot.delivery import Delivery, Outbound
from bot.outbound.log import LoggingSender
from bot.outbound.official import OfficialAccountAPI
from bot.outbound.robot import GroupRobot
from bot.outbound.tokens import MemoryTokenStore, RedisTokenStore
from bot.settings import Settings, prompt_redis_options
from handlers import ROUTER
from handlers.natural import understand
from handlers.notices import pass_on_by_phone
from models import Notice, use_local_zone

from .conversation import Conversation

log = logging.getLogger(__name__)


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        use_local_zone(settings.timezone)

    @cached_property
    def db(self) -> Database:
        return Database(self.settings.database_url)

    @cached_property
    def redis(self):
        if not self.settings.redis_url:
            return None
        import redis

        return redis.Redis.from_url(self.settings.redis_url, socket_timeout=5, socket_connect_timeout=5)

    @cached_property
    def prompt_redis(self):
        """Redis for what a reply waits on (the replay check, the hand-over after commit): a
        Redis that hangs costs a reply a fraction of a second, not seconds per call."""
        if not self.settings.redis_url:
            return None
        import redis

        return redis.Redis.from_url(self.settings.redis_url, **prompt_redis_options())

    @cached_property
    def freshness(self):
        from bot.channels.freshness import Freshness, SeenInMemory, SeenInRedis

        seen = SeenInRedis(self.prompt_redis) if self.prompt_redis is not None else SeenInMemory()
        return Freshness(self.settings.timestamp_window, seen)

    @cached_property
    def outbound(self) -> Outbound:
        s = self.settings
        store = RedisTokenStore(self.redis) if self.redis is not None else MemoryTokenStore()
        official = (OfficialAccountAPI(s.wechat_api_base, s.wechat_appid, s.wechat_secret, store, s.http_timeout)
                    if s.wechat_secret else LoggingSender("private notice"))
        return Outbound(robot=GroupRobot(s.wecom_api_base, s.http_timeout), official=official)

    @cached_property
    def jobs(self):
        if self.redis is not None:
            from bot.jobs import RQJobs

            return RQJobs(self.redis)
        from bot.jobs import InProcessJobs

        return InProcessJobs(self.perform)

    @cached_property
    def conversation(self) -> Conversation:
        return Conversation(self.db, self.after_commit, ROUTER, understand,
                            points_per_hour=self.settings.points_per_hour, settings=self.settings)

    @cached_property
    def pacer(self):
        from bot.pacing import Budget, MemoryPacer, RedisPacer

        budget = Budget.per_minute(self.settings.robot_per_minute)
        return RedisPacer(self.redis, budget) if self.redis is not None else MemoryPacer(budget)

    @cached_property
    def delivery(self) -> Delivery:
        return Delivery(self.db, self.outbound, self.pacer, self.jobs, self.settings.send_lease_seconds,
                        outside_window=pass_on_by_phone)

    # --- the jobs of bot.jobs.JOBS: worker.run calls these in a worker, InProcessJobs without Redis ---

    def perform(self, name: str, arg) -> None:
        getattr(self, checked(name))(arg)

    def send_notice(self, notice_id: int) -> None:
        self.delivery.send_notice(notice_id)

    def flush_robot(self, target: str) -> None:
        self.delivery.flush_robot(target)

    def relay_notices(self, min_age: float) -> None:
        self.delivery.relay(min_age)

    def start_in_process_clock(self) -> None:
        """Without Redis, this process runs the relay, reminders and digests itself."""
        if self.redis is not None:
            return  # `wishbot worker` does
        from bot.clock import Clock, memory_claims

        self.jobs.call(RELAY_NOTICES, 0)
        Clock(self.settings, self.jobs, memory_claims()).start()

    def send_digests(self, _day=None) -> list[int]:
        from handlers.digest import send_digests

        return self._deliver(send_digests(self.db, self.settings))

    def send_reminders(self, _hour=None) -> list[int]:
        from handlers.digest import send_reminders

        return self._deliver(send_reminders(self.db, self.settings))

    def purge_processed(self, _hour=None) -> int:
        from bot.retention import purge_processed

        removed = purge_processed(self.db, self.settings.retention_days)
        if removed:
            log.info("purged %s processed-message records older than %s days", removed,
                     self.settings.retention_days)
        return removed

    def _deliver(self, notices: list[Notice]) -> list[int]:
        self.jobs.hand_over(notices)
        return [notice.id for notice in notices]

    def fetch_proof(self, proof_id: int) -> None:
        from handlers.media import fetch_proof

        download = getattr(self.outbound.official, "download_media", None)
        if download is None:  # no Official Account configured: the media id stays on the row
            log.info("proof %s not fetched: no Official Account API", proof_id)
            return
        fetch_proof(self.db, download, proof_id)

    @cached_property
    def handover_jobs(self):
        """The job runner as a reply's path uses it: on Redis, with the reply path's short
        timeouts, so that a Redis that hangs delays a reply by a fraction of a second."""
        if self.prompt_redis is None:
            return self.jobs
        from bot.jobs import RQJobs

        return RQJobs(self.prompt_redis)

    def after_commit(self, notices: list[Notice], jobs: list[tuple[str, int]]) -> None:
        """Hand what a committed change queued (its outbox rows, the jobs its handlers asked
        for) to the job runner: one path for chat and the dashboard alike. Whatever Redis does
        not take in time stays pending in the outbox, for the relay."""
        self.handover_jobs.hand_over(notices, jobs)

    @cached_property
    def wechat_channel(self):
        from bot.channels.wechat import OfficialAccount

        s = self.settings
        return OfficialAccount(s.wechat_token, s.wechat_appid, s.wechat_aes_key, s.wechat_previous_aes_key,
                               self.freshness)

    @cached_property
    def wecom_channel(self):
        from bot.channels.wecom import WeComApp

        s = self.settings
        return WeComApp(s.wecom_token, s.wecom_corp_id, s.wecom_aes_key, freshness=self.freshness)
