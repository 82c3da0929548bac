"""The WeChat endpoints: /wechat (Official Account), /wecom (WeCom application) and /wecom/aibot
(an @-mention of the WeCom AI bot in a grid workers' group).

WeChat signs its requests and sends no cookies, so the running server answers them with
`WebhookApp`: werkzeug's routing, request and response and nothing more, in front of the dashboard.
Flask's dispatch cost a message about a tenth of its CPU, and the dashboard's session, login, CSRF
and throttle hooks have nothing to do for these requests. The same views stay registered on the
Flask app as the `webhook` blueprint (url_for, the authorization matrix, an app served without
WebhookApp in front).
"""
from __future__ import annotations

import logging
from typing import Any, Callable

from flask import Blueprint, current_app, request
from werkzeug.exceptions import BadRequest, Forbidden, HTTPException, InternalServerError, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from .channels.errors import MalformedMessage, SignatureError

log = logging.getLogger(__name__)

View = Callable[[Any, Request], Response]  # (the runtime, the request)


def _wechat(runtime):
    if not runtime.settings.wechat_token:
        raise NotFound()  # not configured: an empty token would let anyone sign messages
    return runtime.wechat_channel


def _wecom(runtime):
    s = runtime.settings
    if not (s.wecom_token and s.wecom_aes_key and s.wecom_corp_id):
        raise NotFound()
    return runtime.wecom_channel


def _aibot(runtime):
    s = runtime.settings
    if not (s.wecom_aibot_token and s.wecom_aibot_aes_key):
        raise NotFound()
    return runtime.aibot_channel


def _verify(channel, req: Request) -> Response:
    try:
        echo = channel.verify_url(req.args)
    except SignatureError:
        raise Forbidden()
    except MalformedMessage:
        raise BadRequest()
    return Response(echo, mimetype="text/plain")


def _open(channel, req: Request):
    """What the channel reads from this request: 403 for a bad, stale or replayed signature, 400
    for a body it cannot read."""
    try:
        return channel.open(req.args, req.get_data(cache=False))
    except SignatureError:
        raise Forbidden()
    except MalformedMessage:
        raise BadRequest()


def _receive(runtime, channel, req: Request) -> Response:
    envelope = _open(channel, req)
    reply = runtime.conversation.handle(envelope.inbound)
    return Response(channel.render(envelope, reply), mimetype="application/xml")


def _aibot_receive(runtime, req: Request) -> Response:
    """Act on the mention and answer in the group."""
    channel = _aibot(runtime)
    inbound = _open(channel, req)
    reply = runtime.conversation.handle(inbound) if inbound is not None else None
    return Response(channel.render(reply), mimetype="application/json")


# endpoint: (path, method, view)
ENDPOINTS: dict[str, tuple[str, str, View]] = {
    "wechat_verify": ("/wechat", "GET", lambda runtime, req: _verify(_wechat(runtime), req)),
    "wechat_receive": ("/wechat", "POST", lambda runtime, req: _receive(runtime, _wechat(runtime), req)),
    "wecom_verify": ("/wecom", "GET", lambda runtime, req: _verify(_wecom(runtime), req)),
    "wecom_receive": ("/wecom", "POST", lambda runtime, req: _receive(runtime, _wecom(runtime), req)),
    "aibot_verify": ("/wecom/aibot", "GET", lambda runtime, req: _verify(_aibot(runtime), req)),
    "aibot_receive": ("/wecom/aibot", "POST", _aibot_receive),
}


class WebhookApp:
    """WSGI: the endpoints above for one runtime, each request's body capped at `max_body_bytes`
    (413 beyond it, before it is read)."""

    def __init__(self, runtime, max_body_bytes: int):
        self.runtime = runtime
        self.max_body_bytes = max_body_bytes
        self.url_map = Map([Rule(path, endpoint=name, methods=[method])
                            for name, (path, method, _view) in ENDPOINTS.items()])
        self.paths = frozenset(path for path, _method, _view in ENDPOINTS.values())

    def __call__(self, environ, start_response):
        req = Request(environ)
        req.max_content_length = self.max_body_bytes
        try:
            endpoint, _values = self.url_map.bind_to_environ(environ).match()
            response = ENDPOINTS[endpoint][2](self.runtime, req)
        except HTTPException as error:  # 403, 400, 404, 405, 413
            response = error
        except Exception:
            log.exception("%s %s failed", req.method, req.path)
            response = InternalServerError()
        return response(environ, start_response)


def _blueprint() -> Blueprint:
    """The same views for a Flask app, each given the app's runtime and Flask's request."""
    blueprint = Blueprint("webhook", __name__)
    for name, (path, method, view) in ENDPOINTS.items():
        blueprint.add_url_rule(path, name, _flask_view(view), methods=[method])
    return blueprint


def _flask_view(view: View):
    return lambda: view(current_app.extensions["wishbot"], request)


webhook = _blueprint()
