"""The small value every channel turns a WeChat message into."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Inbound:
    channel: str          # "wechat" (Official Account) or "wecom"
    sender: str           # OpenID (wechat) or UserID (wecom)
    kind: str             # "text", "image", "voice", "event", "location", ...
    text: str = ""        # text content, or the voice recognition result
    message_key: str = "" # unique per delivery: MsgId, or sender+CreateTime+the event for events
    event: str = ""       # "subscribe", "unsubscribe", "click", ... (lower-case) for events
    event_key: str = ""
    media_id: str = ""    # images and voice
    pic_url: str = ""
    account: str = ""     # ToUserName: the account's gh_ id or the CorpID
    agent_id: str = ""    # WeCom only
