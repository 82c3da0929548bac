"""WeCom group robot (消息推送): pushes to a group chat through its webhook."""
from __future__ import annotations

import re
from collections.abc import Sequence

import requests

from bot.outbound._api import checked, request

TEXT_LIMIT = 2048  # bytes of UTF-8
MARKDOWN_LIMIT = 4096
_WEBHOOK_PATH = "/cgi-bin/webhook/send"


class GroupRobot:
    def __init__(self, api_base: str, timeout: float, session: requests.Session | None = None):
        self._base = api_base.rstrip("/")
        self._timeout = timeout
        self._session = session or requests.Session()

    def send_text(self, target: str, content: str, mentioned_mobiles: Sequence[str] = ()) -> None:
        """Post text to the robot `target` (a webhook URL or a bare key)."""
        text = {"content": _within(content, TEXT_LIMIT)}
        if mentioned_mobiles:
            text["mentioned_mobile_list"] = list(mentioned_mobiles)
        self._send(target, {"msgtype": "text", "text": text})

    def send_markdown(self, target: str, content: str) -> None:
        self._send(target, {"msgtype": "markdown", "markdown": {"content": _within(content, MARKDOWN_LIMIT)}})

    def _send(self, target: str, payload: dict) -> None:
        if target.startswith(("https://", "http://")):
            url, params = target, None
        else:
            url, params = self._base + _WEBHOOK_PATH, {"key": target}
        checked(request(self._session, "POST", url, self._timeout, params=params, json=payload))


# What WeCom's robot markdown reads as markup, swapped for the full-width forms a reader sees as
# the same character: a wish's text can carry no link, <font> tag, emphasis or code into a group.
_MARKDOWN_LITERAL = str.maketrans({
    "\\": "＼", "*": "＊", "_": "＿", "`": "｀", "[": "［", "]": "］", "<": "＜", ">": "＞",
    "~": "～", "&": "＆", "|": "｜",
})
_BLOCK_MARKER = re.compile(r"^(\s*)([#+=-]|\d+\.)")  # a heading, list, rule or setext line at the start
_FULL_WIDTH_MARKERS = str.maketrans("#+=-.0123456789", "＃＋＝－．０１２３４５６７８９")
_AUTOLINK = re.compile(r":(?=//)|(?<=www)\.", re.IGNORECASE)  # "http://", "www.": bare links


def markdown_literal(text: str) -> str:
    """`text` as one markdown line that renders as itself: no markup, no line break, no link."""
    line = " ".join(text.splitlines()).translate(_MARKDOWN_LITERAL)
    line = _BLOCK_MARKER.sub(lambda m: m.group(1) + m.group(2).translate(_FULL_WIDTH_MARKERS), line)
    return _AUTOLINK.sub(lambda m: "：" if m.group(0) == ":" else "．", line)


def _within(content: str, limit: int) -> str:
    size = len(content.encode())
    if size > limit:
        raise ValueError(f"message is {size} bytes, over the robot's {limit}; use split_message")
    return content


def split_message(text: str, limit_bytes: int) -> list[str]:
    """Split `text` on line boundaries into chunks of at most `limit_bytes` of UTF-8.

    A line longer than the limit is cut between characters.
    """
    if limit_bytes < 4:
        raise ValueError("limit_bytes must hold any character (4 bytes)")
    if not text:
        return []
    chunks: list[str] = []
    lines: list[str] = []
    size = 0  # of "\n".join(lines)
    for line in (piece for whole in text.split("\n") for piece in _cut(whole, limit_bytes)):
        n = len(line.encode())
        if lines and size + 1 + n > limit_bytes:
            chunks.append("\n".join(lines))
            lines = []
        size = size + 1 + n if lines else n
        lines.append(line)
    chunks.append("\n".join(lines))
    return chunks


def _cut(line: str, limit: int) -> list[str]:
    """`line` in pieces of at most `limit` bytes, never inside a character."""
    data = line.encode()
    pieces = []
    start = 0
    while len(data) - start > limit:
        end = start + limit
        while data[end] & 0xC0 == 0x80:  # a UTF-8 continuation byte: back off to the character's start
            end -= 1
        pieces.append(data[start:end].decode())
        start = end
    pieces.append(data[start:].decode())
    return pieces
