"""The staff dashboard, the chat simulator, and the JSON API (web/api.py)."""
from __future__ import annotations

from .auth import init_auth
from .common import IdConverter, allow_upload, close_db
from .dashboard import admin
from .exports import exports
from .figures import figures
from .ledger import ledger
from .notices import notices
from .people import people
from .phone import phone
from .service import service
from .sim import sim


def register_dashboard(app) -> None:
    """Every dashboard and simulator blueprint, in one visible list."""
    app.url_map.converters["id"] = IdConverter  # before the routes that use it are added
    for blueprint in (admin, ledger, figures, exports, people, service, notices, sim, phone):
        app.register_blueprint(blueprint)
    app.teardown_appcontext(close_db)
    app.before_request(allow_upload)  # before init_auth's CSRF check reads the form
    init_auth(app, app.extensions["wishbot"].settings)

