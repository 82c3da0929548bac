"""The protocol floor: a bare Flask + wechatpy app that verifies, decrypts, parses and answers
with an encrypted echo, and nothing else. `bench/webhook.py` runs the same load against it and
against wishbot in one run, so the project is measured as a share of what the protocol costs.

    gunicorn -w 4 "bench.floor:create_app()"   # WECHAT_TOKEN, WECHAT_APPID, WECHAT_ENCODING_AES_KEY
"""
import os

from flask import Flask, abort, request
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidSignatureException
from wechatpy.replies import TextReply
from wechatpy.utils import check_signature


def create_app() -> Flask:
    token = os.environ["WECHAT_TOKEN"]
    crypto = WeChatCrypto(token, os.environ["WECHAT_ENCODING_AES_KEY"], os.environ["WECHAT_APPID"])
    app = Flask(__name__)

    @app.post("/wechat")
    def wechat():
        args = request.args
        try:
            check_signature(token, args["signature"], args["timestamp"], args["nonce"])
            xml = crypto.decrypt_message(request.get_data(), args["msg_signature"], args["timestamp"], args["nonce"])
        except (KeyError, InvalidSignatureException):
            abort(403)
        message = parse_message(xml)
        reply = TextReply(message=message, content=message.content).render()
        return crypto.encrypt_message(reply, args["nonce"], args["timestamp"])

    return app
