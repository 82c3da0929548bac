"""`wishbot serve` is a production server in one process: waitress with a request timeout, and
the process's own jobs thread and clock delivering notices (no Redis)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from bot.db import Database

from .conftest import AES_KEY, APPID, TOKEN, wait_for
from .processes import free_port
from .world import GRIDWORKERS_KEY, build_world

BIN = Path(sys.executable).parent


@pytest.fixture
def served(sqlite_url, wechat_api, tmp_path):
    db = Database(sqlite_url)
    build_world(db)
    db.dispose()
    api_base = wechat_api.url_for("").rstrip("/")
    env = {**os.environ, "WISHBOT_DATABASE_URL": sqlite_url, "WECHAT_TOKEN": TOKEN, "WECHAT_APPID": APPID,
           "WECHAT_SECRET": "secret", "WECHAT_ENCODING_AES_KEY": AES_KEY,
           "WISHBOT_WECHAT_API_BASE": api_base, "WISHBOT_WECOM_API_BASE": api_base}
    env.pop("WISHBOT_REDIS_URL", None)
    port = free_port()
    log = tmp_path / "serve.log"
    process = subprocess.Popen([BIN / "wishbot", "serve", "--port", str(port), "--timeout", "2"], env=env,
                               cwd=tmp_path, stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return requests.get(f"{url}/healthz", timeout=1).status_code == 200
        except requests.RequestException:
            return False

    try:
        wait_for(healthy, timeout=30)
        yield url, port, env, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def test_serve_runs_waitress_not_the_development_server(served):
    url, _port, _env, log = served
    response = requests.get(f"{url}/healthz", timeout=5)
    assert response.headers["Server"] == "wishbot"  # waitress's ident; Werkzeug's says "Werkzeug/…"
    assert "development server" not in log.read_text()


def test_a_client_that_stalls_mid_request_is_cut_off(served):
    _url, port, _env, _log = served
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(b"POST /wechat HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n<xml>")
        started = time.monotonic()
        assert sock.recv(1024) == b""  # closed by the server, not answered
        assert 1 < time.monotonic() - started < 12


def test_the_process_delivers_its_own_notices(served, wechat_api):
    url, _port, env, _log = served
    result = subprocess.run([BIN / "wishbot", "say", "o-wang", "许愿 需要一副老花镜", "--url", f"{url}/wechat"],
                            env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0 and result.stdout.startswith("收到您的心愿 #1"), result

    def pushed():
        return [r for r, _ in wechat_api.log
                if r.path == "/cgi-bin/webhook/send" and r.args.get("key") == GRIDWORKERS_KEY]

    [push] = wait_for(pushed, timeout=20)
    assert "#1" in push.get_json()["text"]["content"]
