"""The protocol floor: a bare Flask + wechatpy app that verifies, decrypts, parses and answers
with an encrypted echo, and nothing else. `bench/webhook.py` runs the same load against it and
against wishbot in one run, so the project is measured as a share of what the protocol costs.
`create_contract_app` adds the least work the contract asks of each message (see its docstring).

    gunicorn -w 4 "bench.floor:create_app()"   # WECHAT_TOKEN, WECHAT_APPID, WECHAT_ENCODING_AES_KEY
"""
import os
import time
from contextlib import contextmanager
from datetime import datetime, timezone

from flask import Flask, abort, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature


def create_app() -> Flask:
    return _protocol_app(lambda _args, message: message.content)


def _protocol_app(answer) -> Flask:
    """/wechat: verify, decrypt, parse, then `answer(query args, message)` encrypted as a text reply."""
    token = os.environ["WECHAT_TOKEN"]
    crypto = WeChatCrypto(token, os.environ["WECHAT_ENCODING_AES_KEY"], os.environ["WECHAT_APPID"])
    app = Flask(__name__)

    @app.post("/wechat")
    def wechat():
        args = request.args
        try:
            check_signature(token, args["signature"], args["timestamp"], args["nonce"])
            xml = crypto.decrypt_message(request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"])
        except (KeyError, InvalidSignatureException):
            abort(403)
        message = parse_message(xml)
        reply = TextReply(message=message, content=answer(args, message)).render()
        return crypto.encrypt_message(reply, args["nonce"], args["timestamp"])

    return app


def create_contract_app() -> Flask:
    """The floor plus the least that any implementation of CONTRACT.md must do for the bench's
    messages, through the raw drivers (psycopg or sqlite3, redis) with no framework, no rules and no
    wording: a bound on what wishbot could reach on this machine, not a bot. For every message: the
    floor's work, the replay check (Redis `SET NX EX` on timestamp and nonce; without Redis, this
    process's memory, as wishbot's embedded default) and the sender by openid. Then a read
    (心愿列表, 我的认领, 帮助, 查询 N, 我的心愿) reads one page of the community's open wishes; 许愿,
    认领 N and 完成 N run one transaction that records the delivery under its MsgId (a retry answers
    with the stored reply), locks the wish, writes it, its claim, a timeline row and a notice, then
    hands the notice to Redis.

        gunicorn -w 4 "bench.floor:create_contract_app()"   # and BENCH_DATABASE_URL [WISHBOT_REDIS_URL]
    """
    store = _Store(os.environ["BENCH_DATABASE_URL"], os.environ.get("WISHBOT_REDIS_URL"))

    def answer(args, message) -> str:
        if not store.first_time(f"{args['timestamp']}:{args['nonce']}"):
            abort(403)
        sender = store.query("SELECT person.id, coalesce(grid.community_id, person.community_id) FROM person"
                             " LEFT JOIN grid ON grid.id = person.grid_id WHERE openid = %s", message.source)[0]
        command, _, rest = message.content.partition(" ")
        if command in ("许愿", "认领", "完成"):
            return _contract_write(store, message.id, sender, command, rest)
        rows = store.query("SELECT id, content FROM wish WHERE community_id = %s AND status = 'published'"
                           " ORDER BY urgency DESC, id LIMIT 5", sender[1])
        return "待认领的心愿：\n" + "\n".join(f"#{id_} {content}" for id_, content in rows)

    return _protocol_app(answer)


class _Store:
    """One connection per process (opened after gunicorn forks), in autocommit, and the replay
    check's pairs."""

    def __init__(self, database_url: str, redis_url: str | None):
        import redis

        self.sqlite = database_url.startswith("sqlite")
        self.url = (database_url.split(":///", 1)[1] if self.sqlite
                    else database_url.replace("postgresql+psycopg://", "postgresql://"))
        self.redis = redis.Redis.from_url(redis_url) if redis_url else None
        self.seen: dict[str, float] = {}
        self._connection = None

    def first_time(self, pair: str) -> bool:
        if self.redis is not None:
            return bool(self.redis.set(f"contract:nonce:{pair}", b"1", nx=True, ex=300))
        now = time.monotonic()
        if len(self.seen) > 100_000:
            self.seen = {seen: until for seen, until in self.seen.items() if until > now}
        if self.seen.get(pair, 0) > now:
            return False
        self.seen[pair] = now + 300
        return True

    def query(self, sql: str, *params) -> list[tuple]:
        return self.connection.execute(self._dialect(sql), params).fetchall()

    def run(self, sql: str, *params) -> None:
        self.connection.execute(self._dialect(sql), params)

    @contextmanager
    def transaction(self):
        if self.sqlite:  # every writer queues here, as wishbot's do
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")
        else:
            with self.connection.transaction():
                yield

    def enqueue(self, notice_id: int) -> None:
        if self.redis is not None:
            self.redis.lpush("contract:notices", notice_id)

    def _dialect(self, sql: str) -> str:
        return sql.replace("%s", "?").replace(" FOR UPDATE", "") if self.sqlite else sql

    @property
    def connection(self):
        if self._connection is None:
            if self.sqlite:
                import sqlite3

                self._connection = sqlite3.connect(self.url, isolation_level=None, timeout=30)
            else:
                import psycopg

                self._connection = psycopg.connect(self.url, autocommit=True)
        return self._connection


def _contract_write(store: _Store, msg_id: int, sender: tuple, command: str, rest: str) -> str:
    person_id, community_id = sender
    key, now = f"contract:{msg_id}", datetime.now(timezone.utc)
    with store.transaction():
        delivery = store.query("INSERT INTO processed_message (key, sender, created_at) VALUES (%s, %s, %s)"
                               " ON CONFLICT (key) DO NOTHING RETURNING id", key, str(person_id), now)
        if not delivery:  # a retry: the stored answer
            return store.query("SELECT reply FROM processed_message WHERE key = %s", key)[0][0]
        if command == "许愿":
            wish_id = store.query("INSERT INTO wish (content, status, slots, urgency, kind, beneficiaries, requester_id,"
                                  " community_id, created_at) VALUES (%s, 'pending_review', 1, 2, 'individual', 1, %s,"
                                  " %s, %s) RETURNING id", rest, person_id, community_id, now)[0][0]
            event, answer = "submitted", f"收到您的心愿 #{wish_id}"
        else:
            wish_id = int(rest.split()[0])
            store.run("SELECT status FROM wish WHERE id = %s FOR UPDATE", wish_id)
            if command == "认领":
                store.run("INSERT INTO claim (wish_id, member_id, status, created_at) VALUES (%s, %s, 'active', %s)",
                            wish_id, person_id, now)
                store.run("UPDATE wish SET status = 'claimed', claimed_at = %s WHERE id = %s", now, wish_id)
                event, answer = "claimed", f"认领成功 #{wish_id}"
            else:
                store.run("UPDATE claim SET status = 'completed', ended_at = %s WHERE wish_id = %s AND member_id = %s"
                            " AND status = 'active'", now, wish_id, person_id)
                store.run("UPDATE wish SET status = 'completed', completed_at = %s WHERE id = %s", now, wish_id)
                event, answer = "completed", f"已完成 #{wish_id}"
        store.run("INSERT INTO wish_event (wish_id, actor_id, channel, action, created_at)"
                    " VALUES (%s, %s, 'wechat', %s, %s)", wish_id, person_id, event, now)
        # Written as sent: the floor sends nothing, and wishbot's worker, sweeping the table, must not.
        notice_id = store.query("INSERT INTO notice (event, wish_id, person_id, audience, channel, target, text, status,"
                                " attempts, parts_sent, created_at) VALUES (%s, %s, %s, 'group', 'log', 'group', %s,"
                                " 'sent', 0, 0, %s) RETURNING id", event, wish_id, person_id, answer, now)[0][0]
        store.run("UPDATE processed_message SET reply = %s WHERE id = %s", answer, delivery[0][0])
    store.enqueue(notice_id)
    return answer
