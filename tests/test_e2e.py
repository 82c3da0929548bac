"""The whole loop as an operator runs it: `wishbot serve` with an AES key on PostgreSQL,
`wishbot worker` on Redis, and `wishbot say` speaking the real protocol — all real processes."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from bot.db import Database

from .conftest import AES_KEY, APPID, TOKEN, truncate_postgres, wait_for
from .processes import free_port
from .world import VOLUNTEERS_KEY, build_world

BIN = Path(sys.executable).parent


@pytest.fixture
def deployment(postgres_url, redis_url, wechat_api, tmp_path):
    truncate_postgres(postgres_url)
    db = Database(postgres_url)
    build_world(db)
    db.dispose()
    api_base = wechat_api.url_for("").rstrip("/")
    env = {
        **os.environ,
        "WISHBOT_DATABASE_URL": postgres_url, "WISHBOT_REDIS_URL": redis_url,
        "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID, "WECHAT_SECRET": "secret",
        "WECHAT_ENCODING_AES_KEY": AES_KEY,
        "WISHBOT_WECHAT_API_BASE": api_base, "WISHBOT_WECOM_API_BASE": api_base,
    }
    port = free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    processes = [
        subprocess.Popen([BIN / "wishbot", "serve", "--port", str(port)], env=env, cwd=tmp_path,
                         stdout=open(logs / "serve.log", "w"), stderr=subprocess.STDOUT),
        subprocess.Popen([BIN / "wishbot", "worker"], env=env, cwd=tmp_path,
                         stdout=open(logs / "worker.log", "w"), stderr=subprocess.STDOUT),
    ]
    url = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:  # not up yet, or too slow to answer on a busy machine
            return False

    try:
        wait_for(healthy, timeout=30)
        yield url, env
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def say(env, url: str, openid: str, text: str) -> str:
    result = subprocess.run([BIN / "wishbot", "say", openid, text, "--url", f"{url}/wechat"],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def group_pushes(server) -> list[str]:
    import json

    return [json.loads(request.data)["text"]["content"] for request, _ in server.log
            if request.path == "/cgi-bin/webhook/send" and request.args.get("key") == VOLUNTEERS_KEY]


def test_the_loop_across_real_processes(deployment, wechat_api):
    url, env = deployment
    heard = [(openid, text, say(env, url, openid, text)) for openid, text in [
        ("o-wang", "许愿 需要一副老花镜"), ("o-liu", "审核 1 通过"), ("o-li", "认领 1"), ("o-li", "完成 1 已送到"),
        ("o-wang", "确认 1 很好")]]
    assert heard == [
        ("o-wang", "许愿 需要一副老花镜", "收到您的心愿 #1，网格员审核后会发布。"),
        ("o-liu", "审核 1 通过", "心愿 #1 已发布到志愿者群。"),
        ("o-li", "认领 1", "认领成功！心愿 #1：需要一副老花镜\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。"),
        ("o-li", "完成 1 已送到", "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。"),
        ("o-wang", "确认 1 很好", "心愿 #1 已确认圆梦，谢谢您！"),
    ]

    confirmed = "心愿 #1 已圆梦，许愿人已确认，感谢各位！"
    wait_for(lambda: confirmed in group_pushes(wechat_api), timeout=30)
    assert group_pushes(wechat_api) == [
        "新心愿 #1（新城社区第一网格，王**）：需要一副老花镜\n回复「认领 1」认领。",
        "心愿 #1 已由 李建国（市税务局） 认领。",
        "心愿 #1 已由 李建国（市税务局） 完成，谢谢！",
        confirmed,
    ]
    token_fetches = [r for r, _ in wechat_api.log if r.path == "/cgi-bin/stable_token"]
    assert len(token_fetches) == 1
