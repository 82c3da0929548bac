"""The WeChat endpoints: /wechat (Official Account) and /wecom (WeCom application)."""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request

from .channels.errors import MalformedMessage, SignatureError

webhook = Blueprint("webhook", __name__)


def _runtime():
    return current_app.extensions["wishbot"]


def _wechat():
    runtime = _runtime()
    if not runtime.settings.wechat_token:
        abort(404)  # not configured: an empty token would let anyone sign messages
    return runtime.wechat_channel


def _wecom():
    runtime = _runtime()
    s = runtime.settings
    if not (s.wecom_token and s.wecom_aes_key and s.wecom_corp_id):
        abort(404)
    return runtime.wecom_channel


def _verify(channel) -> Response:
    try:
        echo = channel.verify_url(request.args)
    except SignatureError:
        abort(403)
    except MalformedMessage:
        abort(400)
    return Response(echo, mimetype="text/plain")


def _open(channel):
    """What the channel reads from this request: 403 for a bad, stale or replayed signature, 400
    for a body it cannot read."""
    try:
        return channel.open(request.args, request.get_data(cache=False))
    except SignatureError:
        abort(403)
    except MalformedMessage:
        abort(400)


def _receive(channel) -> Response:
    envelope = _open(channel)
    reply = _runtime().conversation.handle(envelope.inbound)
    return Response(channel.render(envelope, reply), mimetype="application/xml")


@webhook.get("/wechat")
def wechat_verify():
    return _verify(_wechat())


@webhook.post("/wechat")
def wechat_receive():
    return _receive(_wechat())


@webhook.get("/wecom")
def wecom_verify():
    return _verify(_wecom())


@webhook.post("/wecom")
def wecom_receive():
    return _receive(_wecom())


def _aibot():
    runtime = _runtime()
    s = runtime.settings
    if not (s.wecom_aibot_token and s.wecom_aibot_aes_key):
        abort(404)
    return runtime.aibot_channel


@webhook.get("/wecom/aibot")
def aibot_verify():
    return _verify(_aibot())


@webhook.post("/wecom/aibot")
def aibot_receive():
    """An @-mention of the AI bot in a grid workers' WeCom group: act and answer in the group."""
    channel = _aibot()
    inbound = _open(channel)
    reply = _runtime().conversation.handle(inbound) if inbound is not None else None
    return Response(channel.render(reply), mimetype="application/json")
