"""The Flask application factory; nothing is built at import time."""
from __future__ import annotations

import logging

from flask import Flask

from composition.runtime import Runtime
from bot.settings import Settings


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=settings.max_body_bytes)
    app.extensions["wishbot"] = Runtime(settings)

    from bot.webhook import webhook
    from web.api import api

    app.register_blueprint(webhook)
    app.register_blueprint(api)
    from web import register_dashboard

    register_dashboard(app)
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return app
