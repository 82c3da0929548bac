"""Everything a process builds from Settings, built on demand and never at import time."""
from __future__ import annotations

from functools import cached_property

from .conversation import Conversation
from .db import Database
from .delivery import Outbound, deliver
from .outbound.log import LoggingSender
from .outbound.official import OfficialAccountAPI
from .outbound.robot import GroupRobot
from .outbound.tokens import MemoryTokenStore, RedisTokenStore
from .settings import Settings


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings

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
    def outbound(self) -> Outbound:
        s = self.settings
        store = RedisTokenStore(self.redis) if self.redis is not None else MemoryTokenStore()
        official = (OfficialAccountAPI(s.wechat_api_base, s.wechat_appid, s.wechat_secret, store, s.http_timeout)
                    if s.wechat_secret else LoggingSender("private notice"))
        return Outbound(robot=GroupRobot(s.wecom_api_base, s.http_timeout), official=official)

    @cached_property
    def jobs(self):
        if self.redis is not None:
            from .jobs import RQJobs

            return RQJobs(self.redis)
        from .jobs import InProcessJobs

        return InProcessJobs(self.send_notice)

    @cached_property
    def conversation(self) -> Conversation:
        return Conversation(self.db, self.jobs.enqueue)

    def send_notice(self, notice_id: int) -> None:
        deliver(self.db, self.outbound, notice_id)

    @cached_property
    def wechat_channel(self):
        from .channels.wechat import OfficialAccount

        s = self.settings
        return OfficialAccount(s.wechat_token, s.wechat_appid, s.wechat_aes_key, s.wechat_previous_aes_key)

    @cached_property
    def wecom_channel(self):
        from .channels.wecom import WeComApp

        s = self.settings
        return WeComApp(s.wecom_token, s.wecom_corp_id, s.wecom_aes_key)
