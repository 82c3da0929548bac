"""The webhook benchmark: the same load against the protocol floor (bench/floor.py: verify,
decrypt, parse, encrypted echo) and against wishbot, interleaved in one run, on SQLite (the
embedded default, no Redis) and on PostgreSQL + Redis, each behind gunicorn with sync workers.

Two mixes of really signed and AES-encrypted deliveries, every MsgId distinct: `read`
(心愿列表, 我的认领, 帮助, 查询 N, 我的心愿 from many members and residents) and `write` (许愿, 认领,
完成 among many users, one delivery in ten retried by WeChat with the same MsgId). wrk drives the
throughput phases (floor, wishbot, wishbot, floor, ...); a Python client then sends the read mix
at a fixed rate and reads every reply. Prints msg/s, p50/p99 and the ratio to the floor, and
checks that replies are right, that no message failed, and that every wish submitted (retries
included) was stored exactly once. Before the fixed-rate phase the RQ worker (PostgreSQL) is left to
send what the throughput phases queued, and its time to do so is printed.

    bash bench/run.sh webhook [--seconds 5] [--rounds 2] [--rate 100] [--rate-seconds 10]
                              [--databases sqlite,postgresql] [--mixes read,write] [--workers 4]
"""
from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import redis
import requests
from sqlalchemy import func, select, update
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner

from bench.delivery import fresh_database
from tests.processes import descendants
from bot.channels import simulate
from bot.db import Database
from bot.jobs import QUEUE_NAME
from handlers import directory
from models import Claim, Person, Wish
from models.base import utcnow
from models.wish import PUBLISHED, WITHDRAWN

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/wishbot_bench_webhook"
REDIS_URL = "redis://127.0.0.1:6379/14"
TOKEN, APPID, AES_KEY, ACCOUNT = "bench", "wxbench", "b" * 43, "gh_bench"
PHONE = "13800000000"
PEOPLE = 200          # residents and as many members
LISTED = 300          # published wishes the read mix browses
CLAIMED_EACH = 2      # claims each member already holds, for 我的认领
RETRY_EVERY = 10      # write mix: one delivery in ten is sent again with the same MsgId
COMPLETE_LAG = 60     # write mix: a member reports 完成 this many claims after claiming
LUA = Path(__file__).with_name("webhook.lua")


# --- deliveries -------------------------------------------------------------------------------

class Sealer:
    """Signed, AES-encrypted deliveries as WeChat sends them (safe mode), fast enough to build
    tens of thousands before a phase: the XML is formatted directly rather than through
    xmltodict, which would dominate the time. Every delivery has its own nonce."""

    def __init__(self) -> None:
        self.crypto = WeChatCrypto(TOKEN, AES_KEY, APPID)
        self.nonces = itertools.count(random.randrange(10**9, 2 * 10**9))

    @staticmethod
    def _sign(*parts: str) -> str:
        signer = WeChatSigner()
        signer.add_data(TOKEN, *parts)
        return signer.signature

    def delivery(self, openid: str, text: str, msg_id: int) -> tuple[str, str]:
        """(path with query, body)."""
        timestamp, nonce = str(int(time.time())), str(next(self.nonces))
        xml = (f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><FromUserName><![CDATA[{openid}]]>"
               f"</FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
               f"<Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>")
        sealed = self.crypto.encrypt_message(xml, nonce, timestamp)
        encrypt = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]>", sealed).group(1)
        query = urlencode({"signature": self._sign(timestamp, nonce), "timestamp": timestamp, "nonce": nonce,
                           "openid": openid, "encrypt_type": "aes",
                           "msg_signature": self._sign(timestamp, nonce, encrypt)})
        body = f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
        return f"/wechat?{query}", body


@dataclass(frozen=True)
class Message:
    openid: str
    text: str
    msg_id: int


class MessageIds:
    """MsgIds never used before in this run (the project deduplicates on them)."""

    def __init__(self) -> None:
        self._next = itertools.count(10**15 + random.randrange(10**12))
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            return next(self._next)


@dataclass
class World:
    """What the seed made: wish ids the read mix may ask about, and fresh wishes to claim."""
    db: Database
    listed: list[int]
    to_claim: list[int] = field(default_factory=list)


def read_mix(world: World, ids: MessageIds, count: int, rng: random.Random) -> list[Message]:
    messages = []
    for n in range(count):
        member, resident = f"m-{rng.randrange(PEOPLE)}", f"r-{rng.randrange(PEOPLE)}"
        openid, text = [(member, "心愿列表"), (member, "我的认领"), (member, "帮助"),
                        (member, f"查询 {rng.choice(world.listed)}"), (resident, "我的心愿")][n % 5]
        messages.append(Message(openid, text, ids.next()))
    return messages


def write_mix(world: World, ids: MessageIds, count: int, rng: random.Random, tag: str) -> list[Message]:
    """许愿, 认领 and 完成 in turn; 完成 follows its 认领 COMPLETE_LAG claims later, by then long
    answered. One message in RETRY_EVERY is a retry of an earlier one (same MsgId)."""
    messages: list[Message] = []
    claims: list[tuple[str, int]] = []
    wishes = iter(world.to_claim)
    while len(messages) < count:
        n = len(messages)
        if n % RETRY_EVERY == RETRY_EVERY - 1 and n > 20:
            messages.append(messages[n - rng.randrange(5, 20)])
            continue
        kind = n % 3
        if kind == 0:
            messages.append(Message(f"r-{rng.randrange(PEOPLE)}", f"许愿 需要一副老花镜 {tag}-{n}", ids.next()))
        elif kind == 1:
            member, wish = f"m-{rng.randrange(PEOPLE)}", next(wishes)
            claims.append((member, wish))
            messages.append(Message(member, f"认领 {wish}", ids.next()))
        else:
            member, wish = claims[-COMPLETE_LAG] if len(claims) > COMPLETE_LAG else claims[0]
            messages.append(Message(member, f"完成 {wish} 已送到", ids.next()))
    return messages


def seed(db: Database) -> World:
    with db.transaction() as session:
        directory.add_community(session, "新城社区", "新兴街道")  # group pushes go to the log
        directory.add_grid(session, "新城社区", "第一网格")
        directory.add_unit(session, "市税务局")
        directory.add_person(session, "gw", "gridworker", "网格员", grid="新城社区/第一网格")
        for n in range(PEOPLE):
            directory.add_person(session, f"r-{n}", "resident", f"居民{n}", phone=PHONE,
                                 grid="新城社区/第一网格", address="新城小区")
            directory.add_person(session, f"m-{n}", "member", f"党员{n}", community="新城社区", unit="市税务局")
    listed = add_published(db, LISTED + PEOPLE * CLAIMED_EACH)
    with db.transaction() as session:
        members = session.scalars(select(Person).where(Person.roles == "member")).all()
        for member, wish_id in zip(itertools.cycle(members), listed[-PEOPLE * CLAIMED_EACH:]):
            session.get(Wish, wish_id).claim_by(member)
    return World(db, listed[:-PEOPLE * CLAIMED_EACH])


def add_published(db: Database, count: int) -> list[int]:
    with db.transaction() as session:
        residents = session.scalars(select(Person).where(Person.roles == "resident")).all()
        wishes = [Wish(content=f"需要一副老花镜（第{n}个）", requester=resident, community=resident.community,
                       grid=resident.grid, status="published", published_at=utcnow(), category="生活")
                  for n, resident in zip(range(count), itertools.cycle(residents))]
        session.add_all(wishes)
        session.flush()
        return [w.id for w in wishes]


def withdraw_unclaimed(db: Database, wish_ids: list[int]) -> None:
    """The claim pool a write phase did not reach leaves the list: a phase publishes thousands
    more wishes than it claims (it cannot know how many it will send), and the read mix should
    browse the community it was seeded with, not ten thousand open wishes."""
    with db.transaction() as session:
        session.execute(update(Wish).where(Wish.id.in_(wish_ids), Wish.status == PUBLISHED).values(status=WITHDRAWN))


# --- servers and load -------------------------------------------------------------------------

class Gunicorn:
    def __init__(self, app: str, port: int, workers: int, env: dict, log: Path):
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-w", str(workers), "-k", "sync",
             "--backlog", "2048", "-b", f"127.0.0.1:{port}", app],
            env={**os.environ, **env}, stdout=open(log, "w"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                requests.get(self.url, timeout=1)
                return
            except requests.RequestException:  # not listening yet, or still loading the app
                time.sleep(0.1)
        raise RuntimeError(f"{app} did not start on port {port}; see {log}")

    def cpu_seconds(self) -> float:
        """CPU time its workers have used so far (from /proc): on a shared machine, CPU per
        message is steadier than messages per second."""
        return cpu_seconds(descendants(self.process.pid))

    def settle(self, quiet: float = 0.05, most: float = 60) -> None:
        """Wait until the workers are idle: each loads the text models (jieba) in a background
        thread after it starts, about a second of CPU apiece, which a server pays once when it
        starts, not per message, and which would otherwise land in the first measured phase."""
        deadline = time.monotonic() + most
        before = self.cpu_seconds()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_seconds()
            if now - before < quiet:
                return
            before = now

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


def cpu_seconds(pids) -> float:
    """User and system CPU time these processes have used, from /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def services_cpu_seconds() -> float:
    """CPU time used so far by this machine's PostgreSQL and Redis servers: their share of a
    message's cost, on the same two cores as the workers."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name = stat.read_text().split("(", 1)[1].split(")", 1)[0]
        except (OSError, IndexError):
            continue
        if name in ("postgres", "redis-server"):
            pids.append(int(stat.parent.name))
    return cpu_seconds(pids)


@dataclass
class Phase:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int
    sent: list[int]
    cpu_seconds: float = 0.0
    services_cpu_seconds: float = 0.0  # PostgreSQL and Redis

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(server: Gunicorn, messages: list[Message], args, workdir: Path, sealer: Sealer) -> Phase:
    """Split the messages between wrk's threads, one file each, and drive `url` for args.seconds."""
    prefix = workdir / f"load-{time.monotonic_ns()}"
    for thread in range(args.wrk_threads):
        with open(f"{prefix}-{thread}.txt", "w") as file:
            for message in messages[thread::args.wrk_threads]:
                path, body = sealer.delivery(message.openid, message.text, message.msg_id)
                file.write(f"{path}\t{body}\n")
    cpu, services = server.cpu_seconds(), services_cpu_seconds()
    out = subprocess.run(["wrk", f"-t{args.wrk_threads}", f"-c{args.connections}", f"-d{args.seconds:g}s",
                          "--timeout", "10s", "-s", str(LUA), server.url, "--", str(prefix)],
                         capture_output=True, text=True, check=True).stdout
    time.sleep(0.5)  # the last replies' teardown
    cpu, services = server.cpu_seconds() - cpu, services_cpu_seconds() - services
    result = json.loads(out.split("RESULT ", 1)[1])
    for thread in range(args.wrk_threads):
        os.unlink(f"{prefix}-{thread}.txt")
    if result["exhausted"]:
        raise RuntimeError("wrk ran out of prepared deliveries; the figures would count retries")
    return Phase(result["requests"], result["seconds"], result["p50_ms"], result["p99_ms"],
                 result["bad"] + result["errors"], result["sent"], cpu, services)


def sent_messages(messages: list[Message], phase: Phase, threads: int) -> list[Message]:
    """The messages wrk actually sent (each thread walks its own share in order)."""
    return [m for t in range(threads) for m in messages[t::threads][:phase.sent[t]]]


class Client:
    """Sends one delivery and reads the reply, as WeChat does."""

    def __init__(self, url: str, sealer: Sealer):
        self.url, self.sealer = url, sealer
        self.local = threading.local()

    def say(self, message: Message) -> str | None:
        return self.read(self.post(*self.sealer.delivery(message.openid, message.text, message.msg_id)))

    def post(self, path: str, body: str) -> bytes:
        """Send a sealed delivery; the reply as it came (still sealed)."""
        session = getattr(self.local, "session", None) or requests.Session()
        self.local.session = session
        response = session.post(self.url + path, data=body.encode(), timeout=30)
        response.raise_for_status()
        return response.content

    @staticmethod
    def read(sealed: bytes) -> str | None:
        return simulate.read_reply(sealed, token=TOKEN, appid=APPID, aes_key=AES_KEY)


def expected_start(message: Message) -> tuple[str, ...]:
    """How the right reply to a read-mix message begins."""
    command, _, number = message.text.partition(" ")
    return {"心愿列表": ("待认领的心愿：",), "我的认领": ("您的认领：",), "帮助": ("您可以发：",),
            "查询": (f"心愿 #{number}（",), "我的心愿": ("您的心愿：", "您还没有心愿")}[command]


def reply_problem(message: Message, reply: str | None) -> str | None:
    if reply is None or not reply.startswith(expected_start(message)):
        return f"{message.openid} {message.text!r} got {reply!r}"
    if PHONE in reply and message.openid.startswith("m-"):
        return f"{message.openid} {message.text!r} showed a requester's phone: {reply!r}"
    return None


def drain(redis_url: str, most: float = 600) -> float:
    """Wait until the RQ worker has run every queued job (on two cores its backlog would take
    the CPU from the webhook being measured); the seconds it took."""
    from rq import Queue

    queue = Queue(QUEUE_NAME, connection=redis.Redis.from_url(redis_url))
    start = time.monotonic()
    while time.monotonic() - start < most and (queue.count or queue.started_job_registry.count):
        time.sleep(0.5)
    return time.monotonic() - start


def fixed_rate(client: Client, messages: list[Message], rate: float) -> tuple[list[float], list[str]]:
    """Open loop: message i leaves at start + i/rate whatever the replies do; latency counts from
    then, so a slow server is not hidden by the client waiting on it. Deliveries are sealed before
    and replies opened after, so the client spends little CPU of the two cores while it measures."""
    sealed = [client.sealer.delivery(m.openid, m.text, m.msg_id) for m in messages]
    latencies, replies = [], [b""] * len(messages)
    lock = threading.Lock()
    start = time.perf_counter() + 0.2

    def send(i: int) -> None:
        due = start + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        replies[i] = client.post(*sealed[i])
        with lock:
            latencies.append(time.perf_counter() - due)

    with ThreadPoolExecutor(64) as pool:
        list(pool.map(send, range(len(messages))))
    problems = [reply_problem(message, client.read(reply)) for message, reply in zip(messages, replies)]
    return sorted(latencies), [p for p in problems if p]


def check_wishes(db: Database, client: Client, submitted: list[Message], tag: str) -> list[str]:
    """Send every submitted 许愿 again (a retry: the same answer, no second wish), then count: each
    stored exactly once."""
    problems = []
    unique = {m.msg_id: m for m in submitted}
    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(client.say, unique.values()))
    problems += [f"retry of {m.text!r} got {r!r}" for m, r in zip(unique.values(), replies)
                 if not (r or "").startswith("收到您的心愿 #")]
    with db.sessions() as session:
        rows = session.execute(select(Wish.content, func.count()).where(Wish.content.like(f"%{tag}-%"))
                               .group_by(Wish.content)).all()
    twice = [content for content, count in rows if count != 1]
    if len(rows) != len(unique) or twice:
        problems.append(f"{len(unique)} wishes submitted, {len(rows)} stored, {len(twice)} stored twice")
    return problems


def server_failures(log: Path) -> int:
    return sum(1 for line in open(log, errors="replace") if " ERROR " in line or "Traceback" in line)


# --- the run ----------------------------------------------------------------------------------

@dataclass
class Figures:
    floor: list[Phase] = field(default_factory=list)
    wishbot: list[Phase] = field(default_factory=list)
    contract: list[Phase] = field(default_factory=list)  # the contract's floor, where it runs
    services: bool = False  # whether PostgreSQL and Redis serve this app (their CPU is machine-wide)

    @staticmethod
    def rate(phases: list[Phase]) -> float:
        return sum(p.requests for p in phases) / sum(p.seconds for p in phases)

    @staticmethod
    def cpu_ms(phases: list[Phase], services: bool = False) -> float:
        spent = sum(p.services_cpu_seconds if services else p.cpu_seconds for p in phases)
        return 1000 * spent / sum(p.requests for p in phases)

    def line(self, label: str) -> str:
        floor, bot = self.rate(self.floor), self.rate(self.wishbot)
        p50 = statistics.median(p.p50_ms for p in self.wishbot)
        p99 = max(p.p99_ms for p in self.wishbot)
        fp99 = max(p.p99_ms for p in self.floor)
        floor_cpu, bot_cpu = self.cpu_ms(self.floor), self.cpu_ms(self.wishbot)
        return (f"{label:<17} floor {floor:5.0f} msg/s p99 {fp99:4.0f} ms {floor_cpu:4.1f} ms CPU/msg | "
                f"wishbot {bot:5.0f} msg/s p50 {p50:4.0f} ms p99 {p99:4.0f} ms {bot_cpu:4.1f} ms CPU/msg"
                f"{self._services(self.wishbot)} | ratio {bot / floor:.2f} (by CPU {floor_cpu / bot_cpu:.2f})")

    def contract_line(self, label: str) -> str:
        rate = self.rate(self.contract)
        return (f"{label:<17} contract floor {rate:5.0f} msg/s p50 {statistics.median(p.p50_ms for p in self.contract):4.0f} ms"
                f" p99 {max(p.p99_ms for p in self.contract):4.0f} ms {self.cpu_ms(self.contract):4.1f} ms CPU/msg"
                f"{self._services(self.contract)} | ratio {rate / self.rate(self.floor):.2f}"
                f" (the contract's least work, raw drivers)")

    def _services(self, phases: list[Phase]) -> str:
        return f" + {self.cpu_ms(phases, services=True):3.1f} ms in PostgreSQL/Redis" if self.services else ""

    def ratio(self) -> float:
        return self.rate(self.wishbot) / self.rate(self.floor)


def bench_database(backend: str, args, floor: Gunicorn, sealer: Sealer, ids: MessageIds, workdir: Path,
                   floor_rate: list[float]) -> tuple[list[str], list[str], dict]:
    if backend == "sqlite":
        url, env = f"sqlite:///{workdir / 'bench.sqlite3'}", {}
    else:
        url, env = args.postgres, {"WISHBOT_REDIS_URL": REDIS_URL}
        redis.Redis.from_url(REDIS_URL).flushdb()
    fresh_database(url)
    db = Database(url)
    world = seed(db)
    log = workdir / f"wishbot-{backend}.log"
    env = {**env, "WISHBOT_DATABASE_URL": url, "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID,
           "WECHAT_ENCODING_AES_KEY": AES_KEY, "WISHBOT_SECRET_KEY": "bench"}
    server = Gunicorn("app:create_app()", args.port_base + 1, args.workers, env, log)
    # The contract's floor: the same messages through the raw drivers, doing only what CONTRACT.md
    # requires (bench/floor.py), to show what any implementation could reach on this machine.
    contract = (Gunicorn("bench.floor:create_contract_app()", args.port_base + 2, args.workers,
                         {**env, "BENCH_DATABASE_URL": url}, workdir / "contract.log")
                if args.contract else None)
    servers = {"floor": floor, "wishbot": server, "contract": contract}
    order = [name for name, app in servers.items() if app is not None]
    # As deployed: with Redis, an RQ worker runs what the webhook queues (notices, the 48-hour
    # window of a read-only message's sender); on SQLite a thread of each gunicorn worker does.
    worker = (subprocess.Popen([str(Path(sys.executable).with_name("wishbot")), "worker"], env={**os.environ, **env},
                               stdout=open(workdir / f"worker-{backend}.log", "w"), stderr=subprocess.STDOUT)
              if "WISHBOT_REDIS_URL" in env else None)
    client = Client(server.url + "", sealer)
    rng = random.Random(backend)
    lines, problems, figures = [], [], {}
    try:
        # Unmeasured: every worker answers a few of each command (pools filled, statements
        # prepared), then the servers go quiet before the first measured phase.
        warm = read_mix(world, ids, 40 * args.workers, rng)
        with ThreadPoolExecutor(args.workers) as pool:
            problems += [p for p in pool.map(lambda m: reply_problem(m, client.say(m)), warm) if p]
            if contract is not None:
                list(pool.map(Client(contract.url, sealer).say, read_mix(world, ids, 40 * args.workers, rng)))
        for app in servers.values():
            if app is not None:
                app.settle()
        for mix in args.mixes:
            result = Figures(services=backend == "postgresql")
            for round_ in range(args.rounds):
                for target in (order if round_ % 2 == 0 else order[::-1]):
                    count = int(floor_rate[0] * 3 * args.seconds) + 500  # the floor varies between phases on a shared machine
                    tag = f"{backend}{round_}{target}"
                    if mix == "write":  # fresh wishes to claim; the floor only echoes the numbers
                        world.to_claim = (list(range(count // 3 + 1)) if target == "floor"
                                          else add_published(db, count // 3 + 1))
                    messages = (read_mix(world, ids, count, rng) if mix == "read"
                                else write_mix(world, ids, count, rng, tag))
                    phase = run_wrk(servers[target], messages, args, workdir, sealer)
                    getattr(result, target).append(phase)
                    if target == "floor":
                        floor_rate[0] = max(phase.rate, 100)
                    if phase.bad:
                        problems.append(f"{backend} {mix} {target}: {phase.bad} replies not an encrypted 200")
                    if mix == "write" and target == "wishbot":
                        sent = sent_messages(messages, phase, args.wrk_threads)
                        problems += check_wishes(db, client, [m for m in sent if m.text.startswith("许愿")], tag)
                    if mix == "write" and target != "floor":
                        withdraw_unclaimed(db, world.to_claim)
            found = [result.line(f"{backend} {mix}")]
            figures[f"{backend} {mix}"] = result.ratio()
            if result.contract:
                found.append(result.contract_line(f"{backend} {mix}"))
            lines += found
            print("\n".join(found), flush=True)
        if args.rate:
            if worker is not None:  # the write mix leaves the RQ worker thousands of notices to send
                lines.append(f"{backend + ' worker':<22} sent what the phases queued in {drain(REDIS_URL):.0f} s")
                print(lines[-1], flush=True)
            server.settle()
            messages = read_mix(world, ids, int(args.rate * args.rate_seconds), rng)
            latencies, wrong = fixed_rate(client, messages, args.rate)
            q = statistics.quantiles(latencies, n=100)
            lines.append(f"{backend + ' read':<22} at {args.rate:.0f} msg/s for {args.rate_seconds:.0f} s: "
                         f"p50 {q[49] * 1000:.0f} ms  p99 {q[98] * 1000:.0f} ms  max {latencies[-1] * 1000:.0f} ms"
                         f"  ({len(messages)} replies read, {len(wrong)} wrong)")
            figures[f"{backend} p99 at rate"] = q[98] * 1000
            problems += wrong[:5]
            print(lines[-1], flush=True)
    finally:
        server.stop()
        if contract is not None:
            contract.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(15)
        db.dispose()
    failures = server_failures(log)
    if failures:
        problems.append(f"{backend}: {failures} errors in the server log {log}")
    return lines, problems, figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=5, help="seconds of each wrk phase")
    parser.add_argument("--rounds", type=int, default=2, help="floor/wishbot pairs per mix (order alternates)")
    parser.add_argument("--rate", type=float, default=100, help="fixed-rate read mix, msg/s (0: skip)")
    parser.add_argument("--rate-seconds", type=float, default=10)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--mixes", default="read,write")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers, for both apps")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--port-base", type=int, default=7410)
    parser.add_argument("--no-contract", dest="contract", action="store_false",
                        help="skip the contract's floor (bench/floor.py, raw drivers)")
    parser.add_argument("--postgres", default=os.environ.get("BENCH_DATABASE_URL", POSTGRES))
    args = parser.parse_args()
    args.mixes = args.mixes.split(",")
    if shutil.which("wrk") is None:
        print("wrk is not installed: apt-get install wrk", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="wishbot-webhook-bench-"))
    sealer, ids = Sealer(), MessageIds()
    print(f"webhook bench on {socket.gethostname()} ({os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}): "
          f"gunicorn {args.workers} sync workers each, wrk -t{args.wrk_threads} -c{args.connections}, "
          f"{args.rounds} x {args.seconds:.0f} s per app and mix, logs in {workdir}", flush=True)
    floor = Gunicorn("bench.floor:create_app()", args.port_base, args.workers,
                     {"WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_ENCODING_AES_KEY": AES_KEY},
                     workdir / "floor.log")
    lines, problems, figures = [], [], {}
    floor_rate = [3000.0]  # a generous first guess of how many deliveries a phase needs
    try:
        for backend in args.databases.split(","):
            got = bench_database(backend, args, floor, sealer, ids, workdir, floor_rate)
            lines += got[0]
            problems += got[1]
            figures.update(got[2])
    finally:
        floor.stop()
    print("\n".join(["", "summary (ratio = wishbot msg/s / floor msg/s in the same run):", *lines]))
    targets = [(f"{b} read", 0.5) for b in ("sqlite", "postgresql")] + [("postgresql write", 0.3)]
    for name, target in targets:
        if name in figures:
            print(f"target {name} >= {target}x floor: {'met' if figures[name] >= target else 'NOT met'} "
                  f"({figures[name]:.2f})")
    for backend in ("sqlite", "postgresql"):
        if f"{backend} p99 at rate" in figures:
            p99 = figures[f"{backend} p99 at rate"]
            print(f"target {backend} p99 < 100 ms at {args.rate:.0f} msg/s: {'met' if p99 < 100 else 'NOT met'} "
                  f"({p99:.0f} ms)")
    for problem in problems:
        print("PROBLEM", problem)
    print(f"RESULT {'OK: replies right, no failures, every wish stored once' if not problems else 'FAILED'}")
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
