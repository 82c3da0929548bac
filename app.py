"""The Flask application factory; nothing is built at import time."""
from __future__ import annotations

import gc
import logging

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.settings import Settings
from bot.webhook import WebhookApp, webhook
from composition.runtime import Runtime
from web import register_dashboard
from web.common import largest_body
from web.api import api


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(settings or Settings.from_env())
    settings = runtime.settings
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.extensions["wishbot"] = runtime
    app.register_blueprint(webhook)  # in url_map, for url_for and the authorization matrix; served by WebhookApp
    app.register_blueprint(api)
    register_dashboard(app)
    app.wsgi_app = WebhookFirst(WebhookApp(runtime, settings.max_body_bytes), app.wsgi_app)
    if settings.proxy_hops:  # the login throttle keys on the client, not on the proxy
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops)
    from handlers.needs import warm_up

    # Then keep what is loaded by now (jieba's dictionary, the mappers: ~275k objects) out of the
    # garbage collector's full passes, which otherwise stall a request for ~160 ms now and then.
    warm_up(then=gc.freeze)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app


class WebhookFirst:
    """WSGI: WeChat's paths to the webhook's own app, everything else to the dashboard's."""

    def __init__(self, webhook_app: WebhookApp, app):
        self.webhook_app, self.app = webhook_app, app

    def __call__(self, environ, start_response):
        target = self.webhook_app if environ.get("PATH_INFO") in self.webhook_app.paths else self.app
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
