"""Configuration, declared once: each field names its environment variable (tests pass their own
Settings). Building Settings never touches the disk; only `from_env` keeps a secret key in
./instance when the environment gives none."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from models.base import DEFAULT_ZONE


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


def _default_export_dir() -> str:
    return str(Path.cwd() / "instance" / "exports")


def _default_database_url() -> str:
    instance = Path.cwd() / "instance"
    return f"sqlite:///{instance / 'wishbot.sqlite3'}"


def env(name: str, default=None, *, factory=None, url: bool = False):
    """A field read from the environment variable `name` (an empty value counts as unset);
    `url`: a trailing slash is dropped."""
    metadata = {"env": name, "url": url}
    if factory is not None:
        return field(default_factory=factory, metadata=metadata)
    return field(default=default, metadata=metadata)


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


_PARSE = {"int": int, "float": float,  # by the field's annotation; anything else is text
          "bool": lambda raw: raw.strip().lower() in ("1", "true", "yes"),
          "dict[str, str]": parse_template_ids}


@dataclass(frozen=True)
class Settings:
    database_url: str = env("WISHBOT_DATABASE_URL", factory=_default_database_url)
    redis_url: str | None = env("WISHBOT_REDIS_URL")
    # Where export jobs leave their files; with several hosts, a directory they all share.
    export_dir: str = env("WISHBOT_EXPORT_DIR", factory=_default_export_dir)

    wechat_token: str = env("WECHAT_TOKEN", "")
    wechat_appid: str = env("WECHAT_APPID", "")
    wechat_secret: str = env("WECHAT_SECRET", "")
    wechat_aes_key: str | None = env("WECHAT_ENCODING_AES_KEY")
    wechat_previous_aes_key: str | None = env("WECHAT_PREVIOUS_ENCODING_AES_KEY")
    wechat_api_base: str = env("WISHBOT_WECHAT_API_BASE", "https://api.weixin.qq.com", url=True)
    wechat_oauth_base: str = env("WECHAT_OAUTH_BASE", "https://open.weixin.qq.com", url=True)
    wechat_template_ids: dict[str, str] = env("WECHAT_TEMPLATE_IDS", factory=dict)  # notice kind -> template id
    public_url: str | None = env("WISHBOT_PUBLIC_URL", url=True)  # links in pushes, the web authorisation

    wecom_corp_id: str = env("WECOM_CORP_ID", "")
    wecom_agent_id: str = env("WECOM_AGENT_ID", "")
    wecom_secret: str = env("WECOM_SECRET", "")
    wecom_token: str = env("WECOM_TOKEN", "")
    wecom_aes_key: str | None = env("WECOM_ENCODING_AES_KEY")
    wecom_api_base: str = env("WISHBOT_WECOM_API_BASE", "https://qyapi.weixin.qq.com", url=True)
    wecom_aibot_token: str = env("WECOM_AIBOT_TOKEN", "")  # the AI bot (智能机器人) in internal groups …
    wecom_aibot_aes_key: str | None = env("WECOM_AIBOT_ENCODING_AES_KEY")  # … its callback's key

    # A bare Settings() signs sessions with a key of its own; from_env keeps one in ./instance.
    secret_key: str = env("WISHBOT_SECRET_KEY", factory=lambda: secrets.token_hex(32))
    secure_cookies: bool = env("WISHBOT_SECURE_COOKIES", False)  # dashboard cookies only over HTTPS
    # Reverse proxies in front (nginx: 1): the client's address and scheme are then read from
    # the last that many X-Forwarded-For/-Proto entries; 0 trusts no such header.
    proxy_hops: int = env("WISHBOT_PROXY_HOPS", 0)
    http_timeout: float = env("WISHBOT_HTTP_TIMEOUT", 5.0)
    max_body_bytes: int = 64 * 1024
    timestamp_window: int = env("WISHBOT_TIMESTAMP_WINDOW", 300)  # seconds a signed webhook request may be off
    robot_per_minute: int = env("WISHBOT_ROBOT_PER_MINUTE", 20)
    # Delivery, digests and reminders (bot/delivery.py, handlers/digest.py, worker.py).
    relay_seconds: int = env("WISHBOT_RELAY_SECONDS", 30)
    send_lease_seconds: int = env("WISHBOT_SEND_LEASE_SECONDS", 60)  # a worker killed mid-send holds its rows this long
    timezone: str = env("WISHBOT_TIMEZONE", DEFAULT_ZONE)  # months, days and times of day people read
    digest_hour: int = env("WISHBOT_DIGEST_HOUR", 8)
    unclaimed_days: int = env("WISHBOT_UNCLAIMED_DAYS", 3)
    open_claim_days: int = env("WISHBOT_OPEN_CLAIM_DAYS", 7)
    remind_days: int = env("WISHBOT_REMIND_DAYS", 3)
    release_days: int = env("WISHBOT_RELEASE_DAYS", 14)
    points_per_hour: float = env("WISHBOT_POINTS_PER_HOUR", 1.0)  # points per verified hour of service
    # Processed-message records hold replies with contact details: kept this long (bot/retention.py).
    retention_days: int = env("WISHBOT_RETENTION_DAYS", 30)
    poster_font: str | None = env("WISHBOT_POSTER_FONT")  # `wishbot qr`: a CJK font file; unset: fonts-wqy-microhei
    # Opens /sim to everyone: only `wishbot demo` sets it, never the environment.
    demo: bool = False

    @classmethod
    def from_env(cls, environ: os._Environ | dict | None = None) -> "Settings":
        environ = os.environ if environ is None else environ
        values = {}
        for spec in fields(cls):
            name = spec.metadata.get("env")
            raw = environ.get(name) if name else None
            if not raw:
                continue
            try:
                value = _PARSE.get(spec.type, str)(raw)
            except ValueError as error:
                if spec.type not in ("int", "float"):
                    raise  # the parser's own message names the variable
                raise ValueError(f"{name}: {raw!r} is not a number") from error
            values[spec.name] = value.rstrip("/") if spec.metadata["url"] else value
        if "secret_key" not in values:
            values["secret_key"] = _instance_secret_key()
        return cls(**values)

    def __post_init__(self) -> None:
        if self.proxy_hops < 0:
            raise ValueError(f"WISHBOT_PROXY_HOPS: {self.proxy_hops} is not 0 or more")

    def with_(self, **changes) -> "Settings":
        return replace(self, **changes)


REPLY_PATH_REDIS_TIMEOUT = 0.25  # seconds per Redis call on a reply's or a login's path


def prompt_redis_options() -> dict:
    """Connection options for Redis on a reply's or a login's path: short timeouts, and no
    retries (redis-py retries three times by default, each waiting the whole timeout)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return dict(socket_timeout=REPLY_PATH_REDIS_TIMEOUT, socket_connect_timeout=REPLY_PATH_REDIS_TIMEOUT,
                retry=Retry(NoBackoff(), 0))
