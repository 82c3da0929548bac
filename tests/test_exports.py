"""Exports that stream: the ledger written a row at a time, a large export as a job with a
progress page and a download for the login that asked, and the roster without the quadratic
append. Runs on SQLite and PostgreSQL; the job runs on a thread of its own (no Redis)."""
from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from models import ExportJob, Person, StaffUser, Wish

from .conftest import make_settings, wait_for
from .test_dashboard import log_in
from .world import add_people


@pytest.fixture
def settings(database_url, wechat_api, tmp_path):
    return make_settings(database_url, wechat_api.url_for("").rstrip("/"), export_dir=str(tmp_path / "exports"))


def many_wishes(app, count: int) -> None:
    with app.extensions["wishbot"].db.transaction() as s:
        people = {p.openid: p for p in s.scalars(select(Person))}
        for i in range(count):
            who = people[("o-wang", "o-zhao", "o-sun")[i % 3]]
            s.add(Wish(content=f"=HYPERLINK(\"x\") {i}" if i == 7 else f"心愿{i}", requester=who,
                       community_id=who.community_id, grid_id=who.grid_id, status="pending_review"))


def job_of(app, number: int) -> ExportJob:
    """A short session each time: on SQLite an open one would hold the write lock the job needs."""
    with app.extensions["wishbot"].db.sessions() as s:
        return s.get(ExportJob, number)


@pytest.fixture
def large(monkeypatch):
    """Any export of more than 5 rows counts as large."""
    from web import export_jobs

    monkeypatch.setattr(export_jobs, "INLINE_ROWS", 5)


def test_a_large_ledger_export_runs_as_a_job_with_progress_and_a_download(app, client, staff, large):
    many_wishes(app, 30)
    log_in(client, "xincheng")
    response = client.get("/admin/export/ledger.xlsx?status=pending_review")
    assert response.status_code == 302
    page_url = response.location
    number = int(re.search(r"/jobs/(\d+)$", page_url).group(1))

    wait_for(lambda: job_of(app, number).status == "done")
    page = client.get(page_url).get_data(as_text=True)
    assert "已完成，共 20 条" in page and "下载文件" in page  # 新城社区's 20 of the 30
    download = client.get(f"{page_url}/download")
    assert download.mimetype.endswith("spreadsheetml.sheet") and "attachment" in download.headers["Content-Disposition"]
    rows = list(load_workbook(io.BytesIO(download.data)).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("序号", "心愿编号", "许愿人") and len(rows) == 21
    assert [r[0] for r in rows[1:]] == list(range(1, 21))
    assert {r[3] for r in rows[1:]} == {"新城社区/第一网格", "新城社区/第二网格"}
    assert rows[6][5] == '=HYPERLINK("x") 7'  # text, not a live formula
    assert load_workbook(io.BytesIO(download.data)).active["F7"].data_type == "s"

    # Another login, another community's or even an admin, sees neither the page nor the file.
    for other in ("zhouqiang", "boss"):
        elsewhere = app.test_client()
        log_in(elsewhere, other)
        assert elsewhere.get(page_url).status_code == 404
        assert elsewhere.get(f"{page_url}/download").status_code == 404


def test_a_large_csv_export_as_a_job(app, client, staff, large):
    many_wishes(app, 12)
    log_in(client, "boss")
    job_url = client.get("/admin/export/ledger.csv").location
    number = int(job_url.rsplit("/", 1)[1])
    wait_for(lambda: job_of(app, number).status == "done")
    assert job_of(app, number).rows_done == job_of(app, number).rows_total == 12
    text = client.get(f"{job_url}/download").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 13 and rows[8][5] == "'=HYPERLINK(\"x\") 7"


def test_the_progress_page_counts_rows(app, client, staff):
    from web.export_jobs import new_job
    from web.ledger import LedgerFilter
    from models.scope import Scope

    log_in(client, "boss")
    with app.extensions["wishbot"].db.transaction() as s:
        staff_id = s.scalar(select(StaffUser.id).where(StaffUser.username == "boss"))
        job = new_job(s, staff_id, "ledger.xlsx", Scope.everything(), LedgerFilter(), 400)
        job.status, job.rows_done = "running", 100
        number = job.id
    page = client.get(f"/admin/export/jobs/{number}").get_data(as_text=True)
    assert "25%" in page and 'http-equiv="refresh"' in page and "下载文件" not in page
    assert client.get(f"/admin/export/jobs/{number}/download").status_code == 404


def test_a_small_export_comes_at_once(app, client, staff):
    many_wishes(app, 4)
    log_in(client, "boss")
    response = client.get("/admin/export/ledger.csv")
    assert response.status_code == 200 and response.is_streamed
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert [r[1] for r in rows[1:]] == ["#1", "#2", "#3", "#4"]


def test_the_roster_export_is_linear(app, client, staff):
    add_people(app, *({"openid": f"o-p{i}", "role": "resident", "name": f"居民{i}", "community": "新城社区"}
                      for i in range(1200)))
    log_in(client, "boss")
    sheet = load_workbook(io.BytesIO(client.get("/admin/people/export.xlsx").data), read_only=True).active
    names = [row[2] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert "居民1199" in names and len(names) >= 1200


def test_a_searched_export_keeps_each_wishs_claimers(app, client, chat, staff):
    """The chunk's claims are found by the same filter again; a search by name must not confuse
    the requester looked up by the filter with the claimer."""
    chat.say("o-wang", "许愿 需要一副老花镜")
    chat.say("o-zhao", "许愿 家里水龙头漏水")
    chat.say("o-liu", "审核 1 通过")
    chat.say("o-li", "认领 1")
    log_in(client, "boss")
    rows = list(csv.reader(io.StringIO(client.get("/admin/export/ledger.csv?q=王秀兰").data.decode("utf-8-sig"))))
    assert [(r[1], r[2], r[6], r[7]) for r in rows[1:]] == [("#1", "王秀兰", "李建国", "市税务局")]


def test_with_redis_the_export_is_an_rq_job_a_worker_runs(database_url, wechat_api, tmp_path, redis_url,
                                                            monkeypatch, large):
    """With Redis the request only enqueues the `run_export` job (with a long timeout); a worker
    process writes the file, and the page then offers it."""
    import redis
    from rq import Queue, SimpleWorker
    from rq.job import Job

    import worker
    from app import create_app
    from bot.jobs import QUEUE_NAME

    from web.auth import add_staff

    from .conftest import STAFF_PASSWORD
    from .world import build_world

    exports_dir = str(tmp_path / "exports")
    settings = make_settings(database_url, wechat_api.url_for("").rstrip("/"), export_dir=exports_dir,
                             redis_url=redis_url)
    app = create_app(settings)
    app.config.update(TESTING=True)
    build_world(app.extensions["wishbot"].db)
    with app.extensions["wishbot"].db.transaction() as s:
        add_staff(s, "boss", "admin", STAFF_PASSWORD, name="管理员")
    many_wishes(app, 8)
    client = app.test_client()
    log_in(client, "boss")
    job_url = client.get("/admin/export/ledger.csv").location
    number = int(job_url.rsplit("/", 1)[1])
    connection = redis.Redis.from_url(redis_url)
    queued = Job.fetch(f"run_export-{number}", connection=connection)
    assert queued.func_name == "worker.run" and list(queued.args) == ["run_export", number] and queued.timeout == 3600
    assert "正在导出" in client.get(job_url).get_data(as_text=True)

    monkeypatch.setenv("WISHBOT_DATABASE_URL", database_url)
    monkeypatch.setenv("WISHBOT_EXPORT_DIR", exports_dir)
    monkeypatch.setattr(worker, "_runtime", None)
    SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection).work(burst=True)
    worker.runtime().db.dispose()
    assert job_of(app, number).status == "done"
    rows = list(csv.reader(io.StringIO(client.get(f"{job_url}/download").data.decode("utf-8-sig"))))
    assert len(rows) == 9
    app.extensions["wishbot"].db.dispose()
