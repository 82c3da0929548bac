"""The database: one engine per process, sessions, and the one place transactions open."""
from __future__ import annotations

import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, exc
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

READS = "wishbot_reads"  # execution option of the engine behind Database.reads()
IDLE_BEFORE_PING = 10.0  # seconds a pooled connection may sit unused before it is checked


class ReadOnlyViolation(RuntimeError):
    """Something tried to write through Database.reads()."""


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling defers BEGIN and never takes the write lock up
    # front; two writers then deadlock on upgrade. Take over: BEGIN IMMEDIATE serialises
    # writers, which is what SELECT ... FOR UPDATE does for us on PostgreSQL.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection):
        # Reads open no transaction: each statement is its own (autocommit, as on PostgreSQL),
        # sees what was committed when it ran and, in WAL mode, waits for no writer; the
        # session's closing rollback then finds nothing to undo. That saves a BEGIN and a
        # ROLLBACK a message.
        if not connection.get_execution_options().get(READS):
            connection.exec_driver_sql("BEGIN IMMEDIATE")


def _ping_when_idle(engine: Engine) -> None:
    """Check a pooled connection before use only when it has sat unused a while (a database
    restart is noticed then), instead of pool_pre_ping's extra round trip on every request."""
    @event.listens_for(engine, "checkin")
    def _on_checkin(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("idle_since", time.monotonic()) < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise exc.DisconnectionError() from error  # the pool replaces it with a fresh one


def _in_memory(url: str) -> bool:
    parsed = make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database in (None, "", ":memory:")


def make_engine(url: str, **options) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not _in_memory(url):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False}, **options)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(url, **options)
    _ping_when_idle(engine)
    return engine


class Database:
    def __init__(self, url: str, info: dict | None = None):
        """`info` is handed to every session (session.info), e.g. the wish links of bot/links.py."""
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False, info=dict(info or {}))
        # PostgreSQL: autocommit, so a read costs one round trip a query and no BEGIN/ROLLBACK;
        # on an engine (and pool) of its own, whose connections stay in autocommit, because
        # switching a pooled connection's isolation level costs a round trip each way.
        autocommit = {} if self.is_sqlite else {"isolation_level": "AUTOCOMMIT"}
        reading = make_engine(url, **autocommit) if autocommit else self.engine
        # See KeptConnections. An in-memory SQLite database lives in its connection: it keeps the
        # main engine's (one per thread), as a connection of its own would be another, empty one.
        kept = self.engine if _in_memory(url) else make_engine(url, poolclass=NullPool, **autocommit)
        self.engines = tuple(dict.fromkeys((self.engine, reading, kept)))
        self._read_sessions = sessionmaker(reading.execution_options(**{READS: True}), autoflush=False,
                                           info=dict(info or {}))
        event.listen(self._read_sessions, "before_flush", _refuse_writes)
        self._kept = KeptConnections(kept.execution_options(**{READS: True}))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """Commit when the block ends normally, roll back on any exception."""
        with self.sessions() as session, session.begin():
            yield session

    @contextmanager
    def reads(self) -> Iterator[Session]:
        """A session that answers from committed data and can write nothing: autocommit on both
        databases, so no write lock on SQLite and no BEGIN/ROLLBACK (round trips on PostgreSQL).
        Each query sees what was committed when it ran, which is all a read-only chat answer needs."""
        with self._read_sessions() as session:
            yield session

    @contextmanager
    def chat_reads(self) -> Iterator[Session]:
        """reads() on a connection this thread keeps from one call to the next: for the few short
        queries of a chat answer, where checking a connection out of the pool and back, and
        setting it up, cost as much as the queries themselves. Not for streaming results."""
        with self._read_sessions(bind=self._kept.connection()) as session:
            yield session

    def dispose(self) -> None:
        self._kept.close()
        for engine in self.engines:
            engine.dispose()


class KeptConnections:
    """A connection per thread, opened on its first use and kept (outside any pool, so that
    threads never starve the pool that transactions use); replaced once it is broken, or when
    it has sat unused a while and no longer answers (a database restart)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self._local = threading.local()
        self._all: list[Connection] = []  # every thread's, to close them all on dispose
        self._lock = threading.Lock()

    def connection(self) -> Connection:
        kept, used = getattr(self._local, "connection", None), getattr(self._local, "used", 0.0)
        now = time.monotonic()
        if kept is not None and (kept.closed or kept.invalidated
                                 or now - used >= IDLE_BEFORE_PING and not self._answers(kept)):
            self._local.on_thread_end.detach()
            self._forget(kept)
            kept = None
        if kept is None:
            kept = self._local.connection = self.engine.connect()
            with self._lock:
                self._all.append(kept)
            # A thread that ends (a pool's thread replaced) takes its connection with it.
            self._local.on_thread_end = weakref.finalize(threading.current_thread(), self._forget, kept, quietly=True)
        self._local.used = now
        return kept

    def _answers(self, connection: Connection) -> bool:
        try:
            self.engine.dialect.do_ping(connection.connection.dbapi_connection)
            return True
        except self.engine.dialect.loaded_dbapi.Error:
            return False

    def _forget(self, connection: Connection, *, quietly: bool = False) -> None:
        with self._lock:
            if connection not in self._all:
                return  # closed already (with the database, or replaced)
            self._all.remove(connection)
        if not quietly:
            connection.invalidate()  # closes it without a word to a server that may be gone
        connection.close()

    def close(self) -> None:
        with self._lock:
            kept, self._all = self._all, []
        for connection in kept:
            connection.close()
        self.engine.dispose()


def _refuse_writes(session, _flush_context, _instances) -> None:
    raise ReadOnlyViolation("a read-only session was asked to write")
