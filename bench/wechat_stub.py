"""A local server answering as WeChat does, for the benchmark: group robots (throttled with
45009 past their per-minute limit, as WeChat does), stable_token and customer-service messages.
It records every message with the time it arrived."""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class Arrival:
    at: float  # time.time()
    robot: str | None  # the robot key, or None for a private message
    touser: str | None
    msgtype: str
    content: str


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a client killed in the middle of a request: the benchmark does that on purpose


class WeChatStub:
    def __init__(self, robot_per_minute: int = 20, latency: float = 0.0):
        self.robot_per_minute = robot_per_minute
        self.latency = latency
        self.arrivals: list[Arrival] = []
        self.throttled = 0
        self.token_fetches = 0
        self._recent: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def start(self) -> "WeChatStub":
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self.server.shutdown()

    def _answer(self, path: str, query: dict, body: dict) -> dict:
        time.sleep(self.latency)
        now = time.time()
        with self._lock:
            if path == "/cgi-bin/stable_token":
                self.token_fetches += 1
                return {"access_token": "BENCH-TOKEN", "expires_in": 7200}
            if path == "/cgi-bin/webhook/send":
                key = query["key"][0]
                recent = self._recent[key]
                while recent and recent[0] <= now - 60:
                    recent.popleft()
                if len(recent) >= self.robot_per_minute:
                    self.throttled += 1
                    return {"errcode": 45009, "errmsg": "api freq out of limit"}
                recent.append(now)
                kind = body["msgtype"]
                self.arrivals.append(Arrival(now, key, None, kind, body[kind]["content"]))
                return {"errcode": 0, "errmsg": "ok"}
            if path == "/cgi-bin/message/custom/send":
                self.arrivals.append(Arrival(now, None, body["touser"], "text", body["text"]["content"]))
                return {"errcode": 0, "errmsg": "ok"}
        return {"errcode": 404, "errmsg": "no such API"}

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                data = json.dumps(stub._answer(url.path, parse_qs(url.query), body)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        return Handler
