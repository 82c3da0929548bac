"""Nothing fails silently: notices that failed for good are listed on the dashboard (within the
login's scope) with their error, and sent again from there or with `wishbot notices retry`."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select, update

from models import Notice

from .test_dashboard import csrf, log_in, wishes  # noqa: F401 (a fixture)

WISHBOT = str(Path(sys.executable).with_name("wishbot"))
ERROR = "errcode 93000: invalid webhook url"


def fail_notices_of(app, wish_numbers) -> dict[int, int]:
    """The notices about these wishes, as if the robot had refused them for good: wish -> notice id."""
    with app.extensions["wishbot"].db.transaction() as session:
        session.execute(update(Notice).where(Notice.wish_id.in_(wish_numbers))
                        .values(status="failed", attempts=6, last_error=ERROR))
        return dict(session.execute(select(Notice.wish_id, Notice.id).where(Notice.wish_id.in_(wish_numbers))).all())


def status(app, notice_id) -> str:
    with app.extensions["wishbot"].db.sessions() as session:
        return session.get(Notice, notice_id).status


def test_failed_notices_are_listed_within_the_logins_scope(app, client, wishes):  # noqa: F811
    failed = fail_notices_of(app, wishes.values())
    log_in(client, "liufang")  # grid worker of 新城社区/第一网格: o-wang's wish only
    page = client.get("/admin/notices/failed").get_data(as_text=True)
    assert "共 1 条" in page and ERROR in page and f"#{wishes['o-wang']}" in page
    assert f"#{wishes['o-sun']}" not in page and f"#{wishes['o-zhao']}" not in page

    admin = app.test_client()
    log_in(admin, "boss")
    page = admin.get("/admin/notices/failed").get_data(as_text=True)
    assert "共 3 条" in page and all(f"#{n}" in page for n in wishes.values())
    assert "发送失败" in admin.get("/admin/wishes/").get_data(as_text=True)  # in the menu
    assert set(failed) == set(wishes.values())


def test_a_failed_notice_is_sent_again_from_the_dashboard(app, client, chat, wishes):  # noqa: F811
    failed = fail_notices_of(app, wishes.values())
    sent_before = len(chat.group_pushes())
    log_in(client, "liufang")
    token = csrf(client, "/admin/notices/failed")
    # another grid's notice: refused, and nothing changes
    response = client.post(f"/admin/notices/{failed[wishes['o-sun']]}/retry", data={"csrf_token": token},
                           follow_redirects=True)
    assert "没有可以重新发送的通知" in response.get_data(as_text=True)
    assert status(app, failed[wishes["o-sun"]]) == "failed"

    response = client.post(f"/admin/notices/{failed[wishes['o-wang']]}/retry", data={"csrf_token": token},
                           follow_redirects=True)
    assert "已重新发送 1 条" in response.get_data(as_text=True)
    chat.settle()
    assert status(app, failed[wishes["o-wang"]]) == "sent"
    assert len(chat.group_pushes()) == sent_before + 1
    assert "共 0 条" in client.get("/admin/notices/failed").get_data(as_text=True)

    admin = app.test_client()
    log_in(admin, "boss")
    admin.post("/admin/notices/failed/retry", data={"csrf_token": csrf(admin, "/admin/notices/failed")})
    chat.settle()
    assert {status(app, n) for n in failed.values()} == {"sent"}


def test_retry_needs_the_csrf_token_and_a_login(app, client, wishes):  # noqa: F811
    failed = fail_notices_of(app, wishes.values())
    assert "/admin/login" in client.get("/admin/notices/failed").location
    log_in(client, "boss")
    assert client.post(f"/admin/notices/{failed[wishes['o-wang']]}/retry").status_code == 400
    assert status(app, failed[wishes["o-wang"]]) == "failed"


def test_wishbot_notices_retry_sends_them_again(app, chat, wishes, settings):  # noqa: F811
    failed = fail_notices_of(app, wishes.values())
    env = {**os.environ, "WISHBOT_DATABASE_URL": settings.database_url, "WECHAT_TOKEN": settings.wechat_token,
           "WECHAT_APPID": settings.wechat_appid, "WECHAT_SECRET": settings.wechat_secret,
           "WISHBOT_WECHAT_API_BASE": settings.wechat_api_base, "WISHBOT_WECOM_API_BASE": settings.wecom_api_base}
    env.pop("WISHBOT_REDIS_URL", None)
    one = subprocess.run([WISHBOT, "notices", "retry", "--id", str(failed[wishes["o-wang"]])], env=env,
                         capture_output=True, text=True, timeout=120)
    assert one.returncode == 0 and one.stdout.strip() == "notices sent: 1", one.stderr
    assert status(app, failed[wishes["o-wang"]]) == "sent" and status(app, failed[wishes["o-sun"]]) == "failed"
    rest = subprocess.run([WISHBOT, "notices", "retry"], env=env, capture_output=True, text=True, timeout=120)
    assert rest.returncode == 0 and rest.stdout.strip() == "notices sent: 2", rest.stderr
    again = subprocess.run([WISHBOT, "notices", "retry"], env=env, capture_output=True, text=True, timeout=120)
    assert again.stdout.strip() == "no failed notices"
