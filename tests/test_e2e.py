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
    assert "#1" in say(env, url, "o-wang", "许愿 需要一副老花镜")
    assert "#1" in say(env, url, "o-liu", "审核 1 通过")
    assert "认领成功" in say(env, url, "o-li", "认领 1")
    assert "#1" in say(env, url, "o-li", "完成 1 已送到")
    assert "圆梦" in say(env, url, "o-wang", "确认 1 很好")

    wait_for(lambda: any("已圆梦" in t for t in group_pushes(wechat_api)), timeout=30)
    pushes = group_pushes(wechat_api)
    assert any("新心愿 #1" in t for t in pushes) and any("#1" in t and "认领" in t for t in pushes)
    assert all("13800000001" not in t for t in pushes)
    token_fetches = [r for r, _ in wechat_api.log if r.path == "/cgi-bin/stable_token"]
    assert len(token_fetches) == 1
