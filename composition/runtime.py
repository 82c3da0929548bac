"""Everything a process builds from Settings, built on demand and never at import time."""
from __future__ import annotations

import logging
import threading
from functools import cached_property
from pathlib import Path

from bot.db import Database
from bot.jobs import RELAY_NOTICES, RETAG_PERSON, RUN_EXPORT, checked
from bot.delivery import Delivery, Outbound
from bot.outbound.log import LoggingSender
from bot.outbound.official import OfficialAccountAPI
from bot.outbound.robot import GroupRobot
from bot.outbound.tokens import MemoryTokenStore, RedisTokenStore
from bot.outbound.wecom_app import WeComAPI
from bot.settings import Settings, prompt_redis_options
from handlers import ROUTER
from handlers.natural import understand
from handlers.notices import cannot_deliver
from models import Notice, use_local_zone

from .conversation import Conversation

log = logging.getLogger(__name__)
RETAG = "wishbot.retag"  # session.info key: people whose roles changed in this transaction
HEARING_LOCK_WAIT = "100ms"  # how long a reply may wait to note its sender's window (PostgreSQL)


class Runtime:
    def __init__(self, settings: Settings):
        self.settings = settings
        use_local_zone(settings.timezone)

    @cached_property
    def db(self) -> Database:
        db = Database(self.settings.database_url, info={"links": self.links})
        if self.settings.wechat_secret:
            self._retag_when_roles_change(db)
        return db

    def _retag_when_roles_change(self, db: Database) -> None:
        """Whoever's roles (or openid) a committed transaction changed — through chat, the
        dashboard, an import or the CLI — gets their menu tags redone by a job."""
        from sqlalchemy import event, inspect

        from models import Person

        def changed(row, name: str) -> bool:
            """Changed from an earlier value (not a row just added and filled in)."""
            history = inspect(row).attrs[name].history
            return history.has_changes() and any(history.deleted)

        @event.listens_for(db.sessions, "after_flush")
        def collect(session, _context):
            # People added with their roles (imports, the CLI) are tagged by the next `menu push`;
            # a new chat sender is a plain resident, whose menu is the default one.
            for row in session.dirty:
                if isinstance(row, Person) and row.openid and (
                        changed(row, "roles") or changed(row, "openid") and row.role_set - {"resident"}):
                    session.info.setdefault(RETAG, set()).add(row.id)

        @event.listens_for(db.sessions, "after_commit")
        def hand_over(session):
            ids = session.info.pop(RETAG, set())
            if ids:
                try:
                    self.after_commit([], [(RETAG_PERSON, person_id) for person_id in sorted(ids)])
                except Exception:  # the next `wishbot menu push` tags everyone again
                    log.warning("could not queue re-tagging of %s", sorted(ids), exc_info=True)

        @event.listens_for(db.sessions, "after_rollback")
        def forget(session):
            session.info.pop(RETAG, None)

    @cached_property
    def links(self):
        """Signed links to the wishes' phone pages; None without WISHBOT_PUBLIC_URL."""
        from bot.links import WishLinks

        s = self.settings
        return WishLinks(s.public_url, s.secret_key) if s.public_url else None

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
        wecom = (WeComAPI(s.wecom_api_base, s.wecom_corp_id, s.wecom_agent_id, s.wecom_secret, store, s.http_timeout)
                 if s.wecom_secret and s.wecom_corp_id and s.wecom_agent_id else LoggingSender("WeCom message"))
        return Outbound(robot=GroupRobot(s.wecom_api_base, s.http_timeout), official=official, wecom=wecom)

    @cached_property
    def jobs(self):
        if self.redis is not None:
            from bot.jobs import RQJobs

            return RQJobs(self.redis)
        from bot.jobs import InProcessJobs

        return InProcessJobs(self.perform)

    @cached_property
    def conversation(self) -> Conversation:
        # A read-only message whose sender's window is due to be noted: PostgreSQL writes the one row
        # at once, in a short transaction of its own that holds up no other writer, for less than
        # queueing and running a job costs; on SQLite, whose one write lock every writer queues
        # on, a job writes it after the answer (composition/conversation.py).
        return Conversation(self.db, self.after_commit, ROUTER, understand,
                            points_per_hour=self.settings.points_per_hour, settings=self.settings,
                            note_heard=None if self.db.is_sqlite else self.note_heard_at_once)

    @cached_property
    def pacer(self):
        from bot.pacing import Budget, MemoryPacer, RedisPacer

        budget = Budget.per_minute(self.settings.robot_per_minute)
        return RedisPacer(self.redis, budget) if self.redis is not None else MemoryPacer(budget)

    @cached_property
    def delivery(self) -> Delivery:
        s = self.settings
        return Delivery(self.db, self.outbound, self.pacer, self.jobs, s.send_lease_seconds,
                        outside_window=cannot_deliver, template_ids=s.wechat_template_ids, links=self.links)

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

    def refresh_figures(self, _slot=None) -> int:
        from bot.rollup import refresh

        return refresh(self.db)

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

    @property
    def export_directory(self) -> Path:
        return Path(self.settings.export_dir)

    def start_export(self, job_id: int) -> None:
        """On RQ a worker writes the file; without Redis a thread of its own does, so the
        single job thread that sends notices is never held up for minutes."""
        if self.redis is not None:
            self.jobs.call(RUN_EXPORT, job_id)
            return
        threading.Thread(target=self._export_in_thread, args=(job_id,), name=f"wishbot-export-{job_id}",
                         daemon=True).start()

    def _export_in_thread(self, job_id: int) -> None:
        try:
            self.run_export(job_id)
        except Exception:  # recorded on the job's row; the login asks again
            log.exception("export %s failed", job_id)

    def run_export(self, job_id: int) -> None:
        from web.export_jobs import run_export

        run_export(self.db, self.export_directory, job_id)

    @cached_property
    def handover_jobs(self):
        """The job runner as a reply's path uses it: on Redis, with the reply path's short
        timeouts, so that a Redis that hangs delays a reply by a fraction of a second."""
        if self.prompt_redis is None:
            return self.jobs
        from bot.jobs import RQJobs

        return RQJobs(self.prompt_redis)

    def note_heard(self, hearing: str) -> None:
        """Record that a person wrote (`id:channel:message:event:unix time`), for a read-only
        message answered without a write: by its job (which may wait for the row)."""
        self._note_heard(hearing)

    def note_heard_at_once(self, hearing: str) -> None:
        """The same on a reply's path (PostgreSQL): never waiting long for a row another
        transaction holds; a lock wait past HEARING_LOCK_WAIT raises, and its job is queued instead."""
        self._note_heard(hearing, lock_wait=HEARING_LOCK_WAIT)

    def _note_heard(self, hearing: str, lock_wait: str | None = None) -> None:
        from datetime import datetime, timezone

        from sqlalchemy import text

        from models import Person

        person_id, channel, message, event, stamp = hearing.split(":")
        with self.db.transaction() as session:
            if lock_wait is not None:
                session.execute(text(f"SET LOCAL lock_timeout = '{lock_wait}'"))
            person = session.get(Person, int(person_id))
            if person is not None:
                person.heard_from(channel, datetime.fromtimestamp(int(stamp), timezone.utc),
                                  message=message == "1", event=event)

    def retag_person(self, person_id: int) -> None:
        """Give the person the menu tags of their roles (raises on failure, so it is retried)."""
        from models import Person

        from .menus import retag

        if not isinstance(self.outbound.official, OfficialAccountAPI):
            return
        with self.db.sessions() as session:
            person = session.get(Person, person_id)
            if person is not None:
                retag(self.outbound.official, person)

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
    def aibot_channel(self):
        from bot.channels.aibot import WeComAIBot

        return WeComAIBot(self.settings.wecom_aibot_token, self.settings.wecom_aibot_aes_key, self.freshness)

    @cached_property
    def wecom_channel(self):
        from bot.channels.wecom import WeComApp

        s = self.settings
        return WeComApp(s.wecom_token, s.wecom_corp_id, s.wecom_aes_key, freshness=self.freshness)
