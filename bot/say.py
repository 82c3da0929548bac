"""`wishbot say`: talk to a running server exactly as WeChat would."""
from __future__ import annotations

import random
import time

import requests

from .channels.simulate import build_text_message, read_reply, sign_request
from .settings import Settings

DEMO_TOKEN = "wishbot-demo"
DEMO_APPID = "wx0000000000demo"
DEMO_AES_KEY = "a" * 43  # 43 base64 characters: a valid (public, demo-only) EncodingAESKey


def demo_settings(settings: Settings) -> Settings:
    """Without configured credentials, `say` and the demo share these public demo ones."""
    if settings.wechat_token:
        return settings
    return settings.with_(wechat_token=DEMO_TOKEN, wechat_appid=DEMO_APPID, wechat_aes_key=DEMO_AES_KEY)


def say_over_http(settings: Settings, url: str, openid: str, text: str, timeout: float = 10) -> str | None:
    s = demo_settings(settings)
    xml = build_text_message(openid, text, msg_id=random.getrandbits(62), create_time=int(time.time()))
    params, body = sign_request(xml, token=s.wechat_token, appid=s.wechat_appid, aes_key=s.wechat_aes_key)
    response = requests.post(url, params=params, data=body, timeout=timeout,
                             headers={"Content-Type": "text/xml; charset=utf-8"})
    response.raise_for_status()
    return read_reply(response.content, token=s.wechat_token, appid=s.wechat_appid,
                      aes_key=s.wechat_aes_key)
