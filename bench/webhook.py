"""The webhook benchmark: many residents and members talk at once to gunicorn over the real
signed and AES-encrypted protocol, with one delivery in ten retried (same MsgId) as WeChat does.
Prints throughput, reply latency (p50, p95, p99, max) against WeChat's 5-second limit, and
whether every retried delivery took effect once.

    bash bench/run.sh webhook [--clients 16] [--messages 40] [--gunicorn-workers 4] [--database URL]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from bench.delivery import fresh_database
from bench.processes import free_port
from bot.channels import simulate
from bot.db import Database
from handlers import directory
from models import Wish

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/wishbot_bench_webhook"
REDIS_URL = "redis://127.0.0.1:6379/13"
TOKEN, APPID, AES_KEY = "bench", "wxbench", "b" * 43
WECHAT_LIMIT = 5.0


def seed(db: Database, people: int) -> None:
    with db.transaction() as session:
        directory.add_community(session, "新城社区", "新兴街道", robot_url="bench-robot")
        directory.add_grid(session, "新城社区", "第一网格")
        directory.add_unit(session, "市税务局")
        directory.add_person(session, "gw", "gridworker", "网格员", grid="新城社区/第一网格")
        for n in range(people):
            directory.add_person(session, f"r-{n}", "resident", f"居民{n}", phone="13800000000",
                                 grid="新城社区/第一网格", address="新城小区")
            directory.add_person(session, f"m-{n}", "member", f"党员{n}", community="新城社区", unit="市税务局")


class Client:
    def __init__(self, url: str):
        self.url = url
        self.session = requests.Session()

    def say(self, openid: str, text: str, msg_id: int) -> tuple[float, str | None]:
        xml = simulate.build_text_message(openid, text, msg_id=msg_id)
        params, body = simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=AES_KEY)
        started = time.perf_counter()
        response = self.session.post(self.url, params=params, data=body, timeout=30)
        elapsed = time.perf_counter() - started
        response.raise_for_status()
        return elapsed, simulate.read_reply(response.content, token=TOKEN, appid=APPID, aes_key=AES_KEY)


def conversation(client: Client, n: int, messages: int, ids: "MessageIds") -> tuple[list[float], int, int]:
    """One resident and one member: wishes, lists, queries and claims, some deliveries retried."""
    latencies, retried, submitted = [], 0, 0
    rng = random.Random(n)
    for i in range(messages):
        kind = i % 4
        if kind == 0:
            openid, text = f"r-{n}", f"许愿 需要一副老花镜 {n}-{i}"
            submitted += 1
        elif kind == 1:
            openid, text = f"m-{n}", "心愿列表"
        elif kind == 2:
            openid, text = f"m-{n}", f"查询 {rng.randint(1, 50)}"
        else:
            openid, text = f"m-{n}", f"认领 {rng.randint(1, 50)}"
        msg_id = ids.next()
        elapsed, _ = client.say(openid, text, msg_id)
        latencies.append(elapsed)
        if rng.random() < 0.1:
            elapsed, _ = client.say(openid, text, msg_id)  # WeChat retries the same delivery
            latencies.append(elapsed)
            retried += 1
    return latencies, retried, submitted


class MessageIds:
    """MsgIds, unique across the client threads."""

    def __init__(self, start: int):
        self.value, self.lock = start, threading.Lock()

    def next(self) -> int:
        with self.lock:
            self.value += 1
            return self.value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--messages", type=int, default=40, help="messages per client")
    parser.add_argument("--gunicorn-workers", type=int, default=4)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE))
    args = parser.parse_args()

    url = fresh_database(args.database)
    db = Database(url)
    seed(db, args.clients)
    redis.Redis.from_url(REDIS_URL).flushdb()
    port = free_port()
    logs = Path(tempfile.mkdtemp(prefix="wishbot-webhook-bench-"))
    env = {**os.environ, "WISHBOT_DATABASE_URL": url, "WISHBOT_REDIS_URL": REDIS_URL,
           "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_ENCODING_AES_KEY": AES_KEY}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-w", str(args.gunicorn_workers), "--threads", "4",
         "-b", f"127.0.0.1:{port}", "app:create_app()"],
        env=env, stdout=open(logs / "gunicorn.log", "w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if requests.get(f"{base}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:  # not listening yet, or still loading the app
                time.sleep(0.1)
        print(f"wishbot webhook bench: {args.clients} clients x {args.messages} messages, "
              f"gunicorn {args.gunicorn_workers} workers x 4 threads, {make_url(url).get_backend_name()}, logs in {logs}")
        ids = MessageIds(10**15)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.clients) as pool:
            results = list(pool.map(lambda n: conversation(Client(f"{base}/wechat"), n, args.messages, ids),
                                    range(args.clients)))
        wall = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait(10)

    latencies = sorted(x for r in results for x in r[0])
    retried = sum(r[1] for r in results)
    submitted = sum(r[2] for r in results)
    with db.sessions() as session:
        stored = session.scalar(select(func.count()).select_from(Wish))
    db.dispose()
    q = statistics.quantiles(latencies, n=100)
    over = sum(1 for x in latencies if x >= WECHAT_LIMIT)
    print(f"requests          {len(latencies)} in {wall:.1f} s ({len(latencies) / wall:.0f}/s), {retried} of them retries")
    print(f"reply latency     p50 {q[49] * 1000:.0f} ms, p95 {q[94] * 1000:.0f} ms, p99 {q[98] * 1000:.0f} ms, "
          f"max {latencies[-1] * 1000:.0f} ms")
    print(f"over 5 s          {over}")
    print(f"wishes            {submitted} submitted, {stored} stored")
    ok = over == 0 and stored == submitted
    print(f"RESULT            {'OK: every reply inside the limit, every retry took effect once' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
