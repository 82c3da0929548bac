"""Configuration, read once from the environment (tests pass their own Settings)."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path


def _instance_secret_key() -> str:
    """Without WISHBOT_SECRET_KEY: a random key kept in ./instance, so sessions survive restarts
    on this machine and no known default can sign a dashboard session. Several machines must
    share WISHBOT_SECRET_KEY."""
    path = Path.cwd() / "instance" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
                file.write(secrets.token_hex(32))
        except FileExistsError:
            pass  # another process won the race; read its key
    return path.read_text().strip()


def _default_database_url() -> str:
    instance = Path.cwd() / "instance"
    return f"sqlite:///{instance / 'wishbot.sqlite3'}"


TEMPLATE_KINDS = ("claimed", "completed", "released", "registration")


def parse_template_ids(value: str) -> dict[str, str]:
    """`claimed=ID,completed=ID,…` -> {"claimed": "ID", …}; an unknown kind is a start-up error."""
    ids: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        kind, _, template_id = item.partition("=")
        kind, template_id = kind.strip(), template_id.strip()
        if kind not in TEMPLATE_KINDS or not template_id:
            raise ValueError(f"WECHAT_TEMPLATE_IDS: {item!r} is not one of {', '.join(TEMPLATE_KINDS)}=ID")
        ids[kind] = template_id
    return ids


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=_default_database_url)
    redis_url: str | None = None

    wechat_token: str = ""
    wechat_appid: str = ""
    wechat_secret: str = ""
    wechat_aes_key: str | None = None
    wechat_previous_aes_key: str | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"
    wechat_oauth_base: str = "https://open.weixin.qq.com"
    wechat_template_ids: dict[str, str] = field(default_factory=dict)  # notice kind -> template id
    public_url: str | None = None  # links in pushes and the web authorisation's redirect come under it

    wecom_corp_id: str = ""
    wecom_agent_id: str = ""
    wecom_secret: str = ""
    wecom_token: str = ""
    wecom_aes_key: str | None = None
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    wecom_aibot_token: str = ""  # the AI bot (智能机器人) in internal groups: its callback's token …
    wecom_aibot_aes_key: str | None = None  # … and EncodingAESKey

    secret_key: str = field(default_factory=_instance_secret_key)
    http_timeout: float = 5.0
    max_body_bytes: int = 64 * 1024
    robot_per_minute: int = 20
    # Delivery, digests and reminders (bot/delivery.py, handlers/digest.py, worker.py).
    relay_seconds: int = 30
    send_lease_seconds: int = 60  # a worker killed mid-send holds its rows this long
    timezone: str = "Asia/Shanghai"
    digest_hour: int = 8
    unclaimed_days: int = 3
    open_claim_days: int = 7
    remind_days: int = 3
    release_days: int = 14
    points_per_hour: float = 1.0  # points per verified hour of service

    @classmethod
    def from_env(cls, env: os._Environ | dict | None = None) -> "Settings":
        env = os.environ if env is None else env
        get = lambda name, default=None: env.get(name) or default  # noqa: E731
        defaults = cls()
        return cls(
            database_url=get("WISHBOT_DATABASE_URL", defaults.database_url),
            redis_url=get("WISHBOT_REDIS_URL"),
            wechat_token=get("WECHAT_TOKEN", ""),
            wechat_appid=get("WECHAT_APPID", ""),
            wechat_secret=get("WECHAT_SECRET", ""),
            wechat_aes_key=get("WECHAT_ENCODING_AES_KEY"),
            wechat_previous_aes_key=get("WECHAT_PREVIOUS_ENCODING_AES_KEY"),
            wechat_api_base=get("WISHBOT_WECHAT_API_BASE", defaults.wechat_api_base).rstrip("/"),
            wechat_oauth_base=get("WECHAT_OAUTH_BASE", defaults.wechat_oauth_base).rstrip("/"),
            wechat_template_ids=parse_template_ids(get("WECHAT_TEMPLATE_IDS", "")),
            public_url=(get("WISHBOT_PUBLIC_URL") or "").rstrip("/") or None,
            wecom_corp_id=get("WECOM_CORP_ID", ""),
            wecom_agent_id=get("WECOM_AGENT_ID", ""),
            wecom_secret=get("WECOM_SECRET", ""),
            wecom_token=get("WECOM_TOKEN", ""),
            wecom_aes_key=get("WECOM_ENCODING_AES_KEY"),
            wecom_api_base=get("WISHBOT_WECOM_API_BASE", defaults.wecom_api_base).rstrip("/"),
            wecom_aibot_token=get("WECOM_AIBOT_TOKEN", ""),
            wecom_aibot_aes_key=get("WECOM_AIBOT_ENCODING_AES_KEY"),
            secret_key=get("WISHBOT_SECRET_KEY", defaults.secret_key),
            http_timeout=float(get("WISHBOT_HTTP_TIMEOUT", defaults.http_timeout)),
            robot_per_minute=int(get("WISHBOT_ROBOT_PER_MINUTE", defaults.robot_per_minute)),
            relay_seconds=int(get("WISHBOT_RELAY_SECONDS", defaults.relay_seconds)),
            send_lease_seconds=int(get("WISHBOT_SEND_LEASE_SECONDS", defaults.send_lease_seconds)),
            timezone=get("WISHBOT_TIMEZONE", defaults.timezone),
            digest_hour=int(get("WISHBOT_DIGEST_HOUR", defaults.digest_hour)),
            unclaimed_days=int(get("WISHBOT_UNCLAIMED_DAYS", defaults.unclaimed_days)),
            open_claim_days=int(get("WISHBOT_OPEN_CLAIM_DAYS", defaults.open_claim_days)),
            remind_days=int(get("WISHBOT_REMIND_DAYS", defaults.remind_days)),
            release_days=int(get("WISHBOT_RELEASE_DAYS", defaults.release_days)),
            points_per_hour=float(get("WISHBOT_POINTS_PER_HOUR", defaults.points_per_hour)),
        )

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)
