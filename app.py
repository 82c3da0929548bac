"""The Flask application factory; nothing is built at import time."""
from __future__ import annotations

import logging

from flask import Flask

from bot.settings import Settings
from bot.webhook import webhook
from composition.runtime import Runtime
from web import register_dashboard
from web.common import largest_body
from web.api import api


WEBHOOK_PATHS = frozenset({"/wechat", "/wecom"})


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(settings or Settings.from_env())
    settings = runtime.settings
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.extensions["wishbot"] = runtime
    app.register_blueprint(webhook)  # in url_map, for url_for and the authorization matrix
    app.register_blueprint(api)
    register_dashboard(app)
    app.wsgi_app = WebhookFirst(_webhook_app(app), app.wsgi_app)
    from handlers.needs import warm_up

    warm_up()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app


def _webhook_app(app: Flask) -> Flask:
    """The same webhook blueprint in an app of its own, with the same configuration and runtime.
    WeChat signs its requests and sends no cookies, so the dashboard's session, login, CSRF and
    login-throttle machinery (which cost a message as much as its own database work) has nothing
    to do for them and never runs."""
    hook = Flask(__name__)
    hook.config = app.config  # one configuration: the body limit, TESTING
    hook.extensions["wishbot"] = app.extensions["wishbot"]
    hook.register_blueprint(webhook)
    return hook


class WebhookFirst:
    """WSGI: /wechat and /wecom to the webhook app, everything else to the full one."""

    def __init__(self, webhook_app, app):
        self.webhook_app, self.app = webhook_app, app

    def __call__(self, environ, start_response):
        target = self.webhook_app if environ.get("PATH_INFO") in WEBHOOK_PATHS else self.app
        return target(environ, start_response)


def serve(app: Flask, host: str, port: int, *, threads: int = 8, timeout: int = 30) -> None:
    """The production WSGI server for a single process (`wishbot serve`, the demo): waitress
    reads each request whole before a thread runs it, closes a connection silent for `timeout`
    seconds, and refuses bodies over the largest the app takes (an upload's) before reading them;
    Flask refuses a body over its own view's limit from its Content-Length, before reading it."""
    from waitress import serve as waitress_serve

    logging.getLogger("waitress").setLevel(logging.INFO)
    waitress_serve(app, host=host, port=port, threads=threads, channel_timeout=timeout,
                   cleanup_interval=max(1, min(timeout, 30)),  # how often silent connections are closed
                   max_request_body_size=largest_body(app), ident="wishbot")
