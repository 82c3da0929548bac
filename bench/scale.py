"""The scale benchmark: a generated city (bench/city.py) on PostgreSQL, then every dashboard page,
export, the API, 统计 and 心愿列表 in chat, the digest and the reminder sweep, each timed (median)
with the peak memory of the process that ran it, and the targets met or not.

    bash bench/run.sh scale [--wishes 100000] [--repeat 5] [--database URL] [--reuse] [--keep]

Each operation runs in a process of its own (forked, then the app is built in it), so its peak
memory (VmHWM) is its own; pages go through the Flask app in that process (no HTTP server: the
time is the app's and the database's). Results are saved to instance/bench/scale-N.json; a run
at a larger size compares its growth with the nearest smaller saved run.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/wishbot_bench"
RESULTS = Path("instance/bench")
PAGE_TARGET, API_TARGET, EXPORT_TARGET, EXPORT_MEMORY, GROWTH = 0.300, 0.100, 180.0, 300, 1.5
_CSRF = re.compile(r'name="csrf-token" content="([^"]+)"|name="csrf_token" value="([^"]+)"')


@dataclass
class Op:
    name: str
    kind: str  # page, api, chat, export, job
    target: object
    login: str = "admin"
    limit: float | None = None  # seconds, the target
    full_export: bool = False  # exempt from the growth target

    @property
    def key(self) -> str:
        return self.name


def operations(wishes: int) -> list[Op]:
    from bench.city import ADMIN, COMMUNITY_STAFF

    today = date.today()
    dates = f"start={today - timedelta(days=60)}&end={today - timedelta(days=30)}"
    middle = max(wishes // 2, 1)
    page, api = PAGE_TARGET, API_TARGET
    return [
        Op("台账 第1页", "page", "/admin/wishes/", ADMIN, page),
        Op("台账 第500页", "page", "/admin/wishes/?page=500", ADMIN, page),
        Op("台账 按日期", "page", f"/admin/wishes/?{dates}", ADMIN, page),
        Op("台账 搜索(少)", "page", f"/admin/wishes/?q=帮助{middle}：", ADMIN, page),
        Op("台账 搜索(多)", "page", "/admin/wishes/?q=老花镜", ADMIN, page),
        Op("台账 按单位", "page", "/admin/wishes/?unit=7", ADMIN, page),
        Op("台账 待认领", "page", "/admin/wishes/?status=published", ADMIN, page),
        Op("台账 一个社区", "page", "/admin/wishes/", COMMUNITY_STAFF, page),
        Op("心愿详情", "page", f"/admin/wishes/{middle}", ADMIN, page),
        Op("统计页 本月 管理员", "page", "/admin/figures/", ADMIN, page),
        Op("统计页 全部月份 管理员", "page", "/admin/figures/?month=all", ADMIN, page),
        Op("统计页 本月 一个社区", "page", "/admin/figures/", COMMUNITY_STAFF, page),
        Op("花名册", "page", "/admin/people/", ADMIN, page),
        Op("月报 .xlsx 管理员", "page", "/admin/export/report.xlsx", ADMIN, page),
        Op("API 第1页(100条)", "api", "/api/wishes", limit=api),
        Op("API 深处 after=", "api", f"/api/wishes?after={max(wishes - 150, 0)}", limit=api),
        Op("API 深处 offset=", "api", f"/api/wishes?offset={max(wishes - 150, 0)}"),
        Op("统计 chat 管理员", "chat", ("admin", "统计"), limit=page),
        Op("统计 chat 网格员", "chat", ("g-1", "统计"), limit=page),
        Op("心愿列表 chat 党员", "chat", ("m-1", "心愿列表"), limit=page),
        Op("每日汇总 digest", "job", "send_digests"),
        Op("提醒/释放 sweep", "job", "send_reminders"),
        Op("台账 .xlsx 一个社区", "export", ("ledger.xlsx", "community"), full_export=False),
        Op("台账 .csv 全部", "export", ("ledger.csv", "admin"), full_export=True),
        Op("台账 .xlsx 全部", "export", ("ledger.xlsx", "admin"), limit=EXPORT_TARGET, full_export=True),
    ]


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _log_in(client, username: str) -> None:
    from bench.city import STAFF_PASSWORD

    page = client.get("/admin/login").get_data(as_text=True)
    match = _CSRF.search(page)
    token = match.group(1) or match.group(2)
    response = client.post("/admin/login", data={"username": username, "password": STAFF_PASSWORD,
                                                  "csrf_token": token})
    assert response.status_code in (302, 303), f"login as {username} failed: {response.status_code}"


def _run(op: Op, settings, repeat: int, queue) -> None:
    """In the child: build the app, run the operation `repeat` times, report times and memory."""
    try:
        clock, memory, note = _measure(op, settings, repeat)
        queue.put(("ok", (clock.wall, clock.cpu), memory, note))
    except BaseException as error:  # noqa: BLE001 - reported, not raised, across the fork
        queue.put(("error", repr(error)[:300], peak_mb()))


class _Clock:
    """Wall time, and this process's CPU time (which the load of a shared machine inflates less)."""

    def __init__(self):
        self.wall: list[float] = []
        self.cpu: list[float] = []

    def __enter__(self):
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def __exit__(self, *exc):
        self.wall.append(time.perf_counter() - self._wall)
        self.cpu.append(time.process_time() - self._cpu)


def _measure(op: Op, settings, repeat: int) -> tuple[_Clock, float, str]:
    from app import create_app

    import logging

    logging.basicConfig(level=logging.WARNING)  # the pushes "shown here" would swamp the table
    app = create_app(settings)
    runtime = app.extensions["wishbot"]
    times = _Clock()
    note = ""
    if op.kind in ("page", "api"):
        client = app.test_client()
        headers = {}
        if op.kind == "page":
            _log_in(client, op.login)
        else:
            headers = {"Authorization": f"Bearer {_api_token(runtime)}"}
        for _ in range(repeat):
            with times:
                response = client.get(op.target, headers=headers)
                body = response.get_data()
            if response.status_code != 200:
                raise RuntimeError(f"{op.target}: HTTP {response.status_code}")
        note = f"{len(body) // 1024} KB"
    elif op.kind == "chat":
        from bot.inbound import Inbound

        openid, words = op.target
        for i in range(repeat):
            inbound = Inbound(channel="wechat", sender=openid, kind="text", text=words,
                              message_key=f"bench-{openid}-{time.time_ns()}-{i}")
            with times:
                reply = runtime.conversation.handle(inbound)
        note = (reply or "").splitlines()[0][:30]
    elif op.kind == "job":  # the sweep itself, as the clock's job runs it, without sending
        from handlers import digest

        for _ in range(repeat):
            with times:
                made = getattr(digest, op.target)(runtime.db, runtime.settings)
        note = f"{len(made)} notices"
    elif op.kind == "export":
        kind, who = op.target
        for attempt in range(repeat):
            job_id = _export_job(runtime, kind, who)
            with times:
                runtime.run_export(job_id)
            note = _export_note(runtime, job_id)
            if times.wall[-1] > 60:  # runs over a minute: once is enough
                break
    runtime.db.dispose()
    return times, peak_mb(), note


def _api_token(runtime) -> str:
    from models import ApiToken
    from web.api import hash_token

    token = "bench-api-token"
    with runtime.db.transaction() as session:
        if session.scalar(select(ApiToken.id).where(ApiToken.name == "bench")) is None:
            session.add(ApiToken(name="bench", token_hash=hash_token(token)))
    return token


def _export_job(runtime, kind: str, who: str) -> int:
    from models import StaffUser
    from web.export_jobs import new_job
    from models.scope import Scope
    from web.ledger import LedgerFilter

    from bench.city import ADMIN, COMMUNITY_STAFF

    with runtime.db.transaction() as session:
        staff = session.scalar(select(StaffUser).where(
            StaffUser.username == (ADMIN if who == "admin" else COMMUNITY_STAFF)))
        scope = Scope.of_login(staff)
        from web.ledger_rows import count_rows

        flt = LedgerFilter()
        return new_job(session, staff.id, kind, scope, flt, count_rows(session, scope, flt)).id


def _export_note(runtime, job_id: int) -> str:
    from models import ExportJob

    with runtime.db.sessions() as session:
        job = session.get(ExportJob, job_id)
        path = runtime.export_directory / job.filename
        size = path.stat().st_size
        path.unlink()
        return f"{job.rows_done} rows, {size // (1024 * 1024)} MB"


def measure(op: Op, settings, repeat: int) -> dict:
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_run, args=(op, settings, repeat, queue))
    child.start()
    status, *rest = queue.get()
    child.join()
    if status != "ok":
        error, memory = rest
        return {"name": op.name, "error": error, "memory_mb": memory}
    (wall, cpu), memory, note = rest
    return {"name": op.name, "median": statistics.median(wall), "cpu": statistics.median(cpu), "runs": len(wall),
            "memory_mb": memory, "note": note}


def _drop(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {parsed.database} WITH (FORCE)"))
    admin.dispose()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    load = os.getloadavg()[0]
    return f"{os.cpu_count()} cores ({cpu}), {memory} GB, load average {load:.1f} at start"


def _format(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def report(wishes: int, results: list[dict], ops: list[Op], counts: dict, earlier: dict | None) -> list[str]:
    by_name = {op.name: op for op in ops}
    lines = [f"scale benchmark: {wishes:,} wishes ({', '.join(f'{k} {v:,}' for k, v in counts.items())})",
             f"machine: {machine()}", ""]
    header = f"| operation | median | app CPU | runs | peak memory | target | {'growth | ' if earlier else ''}note |"
    lines += [header, "|" + " --- |" * (header.count("|") - 1)]
    missed = []
    for result in results:
        op = by_name[result["name"]]
        if "error" in result:
            lines.append(f"| {op.name} | FAILED | | | {result['memory_mb']:.0f} MB | | {'| ' if earlier else ''}"
                         f"{result['error']} |")
            missed.append(f"{op.name}: failed ({result['error']})")
            continue
        verdict = ""
        if op.limit is not None:
            met = result["median"] < op.limit
            verdict = f"< {_format(op.limit)} {'met' if met else 'NOT met'}"
            if not met:
                missed.append(f"{op.name}: {_format(result['median'])} (target {_format(op.limit)})")
        if op.kind == "export" and op.full_export and op.limit is not None:
            met = result["memory_mb"] < EXPORT_MEMORY
            verdict += f", memory < {EXPORT_MEMORY} MB {'met' if met else 'NOT met'}"
            if not met:
                missed.append(f"{op.name}: memory {result['memory_mb']:.0f} MB (target {EXPORT_MEMORY} MB)")
        growth = ""
        if earlier:
            before = earlier["results"].get(op.name, {}).get("median")
            if before:
                ratio = result["median"] / before
                growth = f"{ratio:.2f}×"
                if not op.full_export and ratio > GROWTH and result["median"] > 0.05:
                    growth += " NOT met"
                    missed.append(f"{op.name}: grew {ratio:.2f}× from {earlier['wishes']:,} wishes")
            growth += " | "
        lines.append(f"| {op.name} | {_format(result['median'])} | {_format(result['cpu'])} | {result['runs']}"
                     f" | {result['memory_mb']:.0f} MB"
                     f" | {verdict} | {growth}{result['note']} |")
    lines.append("")
    if earlier:
        lines.append(f"growth is against the saved run at {earlier['wishes']:,} wishes "
                     f"(ignored under 50 ms, where the noise of this shared machine dominates)")
    lines.append("targets: all met" if not missed else "targets NOT met:\n  " + "\n  ".join(missed))
    return lines


def nearest_smaller(wishes: int) -> dict | None:
    runs = []
    for path in RESULTS.glob("scale-*.json"):
        saved = json.loads(path.read_text())
        if saved["wishes"] < wishes:
            runs.append(saved)
    return max(runs, key=lambda r: r["wishes"], default=None)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench/run.sh scale", description=__doc__.split("\n\n")[0])
    parser.add_argument("--wishes", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per operation (the median is shown)")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="a PostgreSQL URL; the database is recreated")
    parser.add_argument("--reuse", action="store_true", help="measure the city already in the database")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (default: drop it)")
    parser.add_argument("--only", help="run only operations whose name contains this")
    args = parser.parse_args(argv)

    from bench.city import generate
    from bench.delivery import fresh_database
    from bot.db import Database
    from bot.rollup import refresh
    from bot.schema import upgrade
    from bot.settings import Settings

    if make_url(args.database).get_backend_name() != "postgresql":
        raise SystemExit("the scale benchmark generates its city with PostgreSQL's generate_series")
    if not args.reuse:
        print(f"generating a city of {args.wishes:,} wishes in {make_url(args.database).database} …", flush=True)
        started = time.perf_counter()
        fresh_database(args.database)
        db = Database(args.database)
        generate(db, args.wishes, say=lambda line: print(line, flush=True))
        db.dispose()
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    upgrade(args.database)  # a city kept from an older schema gets the newer tables and indexes
    db = Database(args.database)
    started = time.perf_counter()
    looked = refresh(db)  # the clock's look at the figures' roll-up (the first one builds it)
    print(f"figures roll-up: {'built' if looked < 0 else f'{looked} areas counted again'}"
          f" in {time.perf_counter() - started:.1f} s", flush=True)
    with db.engine.connect() as c:
        counts = {t: c.scalar(text(f"SELECT count(*) FROM {t}")) for t in (
            "wish", "claim", "wish_event", "notice", "processed_message")}
    db.dispose()
    wishes = counts["wish"]
    settings = Settings(database_url=args.database, redis_url=None, secret_key="bench-secret",
                        export_dir=tempfile.mkdtemp(prefix="wishbot-bench-exports-"))
    ops = [op for op in operations(wishes) if not args.only or args.only in op.name]
    results = []
    for op in ops:
        result = measure(op, settings, args.repeat)
        results.append(result)
        shown = _format(result["median"]) if "median" in result else "FAILED " + result["error"]
        print(f"  {op.name}: {shown}, {result['memory_mb']:.0f} MB", flush=True)
    earlier = nearest_smaller(wishes)
    lines = report(wishes, results, ops, counts, earlier)
    print("\n".join(lines))
    if not args.only:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"scale-{wishes}.json").write_text(json.dumps({
            "wishes": wishes, "machine": machine(), "results": {r["name"]: r for r in results},
            "table": lines}, ensure_ascii=False, indent=1))
    if not args.keep:
        _drop(args.database)
        print(f"dropped {make_url(args.database).database}")


if __name__ == "__main__":
    main(sys.argv[1:])
