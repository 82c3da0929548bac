"""The Flask application factory; nothing is built at import time."""
from __future__ import annotations

import logging

from flask import Flask

from bot.settings import Settings
from bot.webhook import webhook
from composition.runtime import Runtime
from web import register_dashboard
from web.api import api


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> Flask:
    runtime = runtime or Runtime(settings or Settings.from_env())
    settings = runtime.settings
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.extensions["wishbot"] = runtime
    app.register_blueprint(webhook)
    app.register_blueprint(api)
    register_dashboard(app)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
