"""The delivery benchmark: bursts of claims in several communities go through the real chat
code, a real Redis, real `wishbot worker` processes and a local server answering as WeChat does
(robots throttled past their limit, as WeChat does). Mid-burst one worker is killed with
`kill -9` and Redis is stopped and started again, empty. Prints notices sent, lost and
duplicated, messages per robot per minute, and the time from commit to delivery.

    bash bench/run.sh [--communities 3] [--claims 30] [--workers 3] [--database URL]
"""
from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from datetime import timezone
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from tests.processes import RedisServer, kill_9
from bench.wechat_stub import WeChatStub
from bot.db import Database
from bot.inbound import Inbound
from bot.schema import upgrade
from bot.settings import Settings
from composition.runtime import Runtime
from handlers import directory
from models import Notice, Wish, utcnow

WISHBOT = str(Path(sys.executable).with_name("wishbot"))
DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/wishbot_bench"


def fresh_database(url: str) -> str:
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"DROP DATABASE IF EXISTS {parsed.database} WITH (FORCE)"))
            connection.execute(text(f"CREATE DATABASE {parsed.database}"))
        admin.dispose()
    elif parsed.database and Path(parsed.database).exists():
        Path(parsed.database).unlink()
    upgrade(url)
    return url


def seed(db: Database, communities: int, claims: int) -> list[tuple[str, list[int]]]:
    """Communities, each with its robot, a resident, a volunteer and `claims` published wishes.
    Returns (volunteer openid, wish ids) per community."""
    plan = []
    with db.transaction() as session:
        for c in range(communities):
            name = f"社区{c + 1}"
            directory.add_community(session, name, "测试街道", robot_url=f"bench-robot-{c + 1}")
            resident = directory.add_person(session, f"r-{c}", "resident", f"居民{c}", phone="13800000000",
                                            community=name)
            directory.add_person(session, f"m-{c}", "member", f"志愿者{c}", community=name)
            wishes = [Wish(content=f"{name}的第{n}个心愿", requester=resident, community=resident.community,
                           status="published", published_at=utcnow()) for n in range(claims)]
            session.add_all(wishes)
            session.flush()
            plan.append((f"m-{c}", [w.id for w in wishes]))
    return plan


def start_worker(env: dict, logs: Path, n: int) -> subprocess.Popen:
    return subprocess.Popen([WISHBOT, "worker"], env=env, cwd=logs, stdout=open(logs / f"worker-{n}.log", "w"),
                            stderr=subprocess.STDOUT, start_new_session=True)


def claim(runtime: Runtime, openid: str, wish_id: int) -> None:
    reply = runtime.conversation.handle(Inbound(channel="wechat", sender=openid, kind="text",
                                                text=f"认领 {wish_id}", message_key=uuid.uuid4().hex))
    assert reply and "认领成功" in reply, reply


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(db: Database, stub: WeChatStub, per_minute: int, started: float, faults: list[str]) -> bool:
    with db.sessions() as session:
        rows = list(session.scalars(select(Notice).order_by(Notice.id)))
    counts: Counter = Counter()
    first: dict[int, float] = {}
    private = {(a.touser, a.content): [] for a in stub.arrivals if a.robot is None}
    for a in stub.arrivals:
        if a.robot is None:
            private[(a.touser, a.content)].append(a.at)
    robot_items: dict[tuple[str, str], list[float]] = {}
    for a in stub.arrivals:
        if a.robot is not None:
            items = [a.content] if a.msgtype == "text" else [line[2:] for line in a.content.split("\n")
                                                             if line.startswith("- ")]
            for item in items:
                robot_items.setdefault((a.robot, item), []).append(a.at)
    for row in rows:
        if row.channel == "robot":
            times = robot_items.get((row.target, " ".join(row.text.split("\n"))), [])
        else:
            times = private.get((row.target, row.text), [])
        counts[row.id] = len(times)
        if times:
            first[row.id] = min(times)

    def committed(row: Notice) -> float:
        moment = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=timezone.utc)
        return moment.timestamp()

    latencies = [first[r.id] - committed(r) for r in rows if r.id in first]
    lost = sum(1 for r in rows if counts[r.id] == 0)
    duplicated = sum(max(0, counts[r.id] - 1) for r in rows)
    sent = sum(1 for r in rows if r.status == "sent")
    robots = sorted({a.robot for a in stub.arrivals if a.robot})
    print(f"notices           {len(rows)} ({sum(r.channel == 'robot' for r in rows)} to group robots, "
          f"{sum(r.channel == 'official' for r in rows)} private)")
    for fault in faults:
        print(f"fault             {fault}")
    print(f"sent              {sent}")
    print(f"lost              {lost}")
    print(f"duplicated        {duplicated}")
    worst = 0
    for robot in robots:
        times = sorted(a.at for a in stub.arrivals if a.robot == robot)
        busiest = max(sum(1 for t in times if start <= t < start + 60) for start in times)
        worst = max(worst, busiest)
        merged = sum(1 for a in stub.arrivals if a.robot == robot and a.msgtype == "markdown")
        carried = sum(1 for r in rows if r.target == robot)
        print(f"robot {robot:<12} {carried} notices in {len(times)} messages ({merged} merged), "
              f"at most {busiest} in any minute (limit {per_minute}), last at +{times[-1] - started:.1f} s")
    print(f"throttled answers {stub.throttled}")
    print(f"token fetches     {stub.token_fetches}")
    if latencies:
        print(f"commit->delivery  p50 {statistics.median(latencies):.2f} s, p99 {percentile(latencies, 99):.2f} s, "
              f"max {max(latencies):.2f} s")
    ok = lost == 0 and worst <= per_minute and stub.throttled == 0
    print("RESULT            " + ("OK: nothing lost, pacing held" if ok else "FAILED"))
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communities", type=int, default=3)
    parser.add_argument("--claims", type=int, default=30, help="claims per community")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--per-minute", type=int, default=20)
    parser.add_argument("--relay-seconds", type=int, default=10)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds the stub takes per answer")
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE))
    parser.add_argument("--deadline", type=float, default=180)
    parser.add_argument("--spread", type=float, default=0, help="seconds over which the claims are spread (0: a burst)")
    args = parser.parse_args()

    logging.getLogger("bot.jobs").setLevel(logging.ERROR)  # "could not enqueue" while Redis is down
    workdir = tempfile.mkdtemp(prefix="wishbot-bench-")
    logs = Path(workdir)
    redis_server = RedisServer(workdir)
    redis_server.start()
    stub = WeChatStub(args.per_minute, args.latency).start()
    db = Database(fresh_database(args.database))
    plan = seed(db, args.communities, args.claims)
    env = {**os.environ, "WISHBOT_DATABASE_URL": args.database, "WISHBOT_REDIS_URL": redis_server.url,
           "WECHAT_APPID": "wxbench", "WECHAT_SECRET": "secret", "WECHAT_TOKEN": "bench",
           "WISHBOT_WECHAT_API_BASE": stub.url, "WISHBOT_WECOM_API_BASE": stub.url,
           "WISHBOT_ROBOT_PER_MINUTE": str(args.per_minute), "WISHBOT_RELAY_SECONDS": str(args.relay_seconds)}
    workers = [start_worker(env, logs, n) for n in range(args.workers)]
    runtime = Runtime(Settings.from_env(env))
    print(f"wishbot delivery bench: {args.communities} communities x {args.claims} claims "
          f"({'a burst' if not args.spread else f'over {args.spread:.0f} s'}), {args.workers} workers, "
          f"robot limit {args.per_minute}/min, relay every {args.relay_seconds} s, logs in {workdir}")
    time.sleep(2)  # the workers start

    faults: list[str] = []
    started = time.time()
    steps = [(openid, wishes[n]) for n in range(args.claims) for openid, wishes in plan]  # round robin
    kill_at, outage_at, outage_end = len(steps) // 3, len(steps) // 2, 2 * len(steps) // 3
    try:
        for i, (openid, wish_id) in enumerate(steps):
            if i == kill_at:
                victim = workers.pop(0)
                kill_9(victim)
                faults.append(f"worker {victim.pid} killed with kill -9 at +{time.time() - started:.1f} s")
                workers.append(start_worker(env, logs, len(workers) + 10))
            if i == outage_at:
                redis_server.stop()
                down = time.time()
            if i == outage_end:
                time.sleep(max(0.0, 3 - (time.time() - down)))
                redis_server.start()
                faults.append(f"Redis down from +{down - started:.1f} s to +{time.time() - started:.1f} s, "
                              f"back empty ({outage_end - outage_at} claims meanwhile)")
            claim(runtime, openid, wish_id)
            time.sleep(args.spread / len(steps))
        print(f"claims            {len(steps)} in {time.time() - started:.1f} s")

        def pending() -> int:
            with db.sessions() as session:
                return len(session.scalars(select(Notice.id).where(
                    Notice.status.in_(["pending", "sending"]))).all())

        deadline = time.time() + args.deadline
        while pending() and time.time() < deadline:
            time.sleep(0.5)
        print(f"all delivered at  +{time.time() - started:.1f} s" if not pending() else
              f"still pending after {args.deadline:.0f} s: {pending()}")
        time.sleep(1)  # let any duplicate still in flight arrive, so that it is counted
        return 0 if report(db, stub, args.per_minute, started, faults) else 1
    finally:
        for worker in workers:
            kill_9(worker)
        runtime.db.dispose()
        db.dispose()
        stub.stop()
        if redis_server.process.poll() is None:
            redis_server.stop()


if __name__ == "__main__":
    sys.exit(main())
