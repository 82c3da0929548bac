"""The 100 real inbound messages and events of tests/corpus/wechat-inbound (other projects' test
suites and WeChat's documentation, copied from the shared corpus): each one, signed and
encrypted as WeChat sends it, gets an answer within the protocol's 5 seconds and never a 5xx,
and a repeat delivery of it changes nothing and gets the same answer."""
from __future__ import annotations

import itertools
import re
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.channels import simulate
from models import Base

from .conftest import AES_KEY, APPID, TOKEN

CORPUS = sorted((Path(__file__).parent / "corpus" / "wechat-inbound").glob("*.xml"))
PROTOCOL_SECONDS = 5.0
_message_ids = itertools.count(8_100_000_000_000_000_000)


def test_the_whole_corpus_is_here():
    assert len(CORPUS) == 100
    assert {path.name.split("_")[1] for path in CORPUS} >= {
        "text", "image", "voice", "video", "shortvideo", "location", "link", "file", "ev"}


def delivery(template: str, sender: str) -> str:
    """The message as WeChat would send it: the file's source comment dropped, placeholders filled."""
    xml = re.sub(r"^\s*<!--.*?-->\s*", "", template, count=1, flags=re.S)
    return (xml.replace("{{TO}}", simulate.DEFAULT_ACCOUNT).replace("{{FROM}}", sender)
            .replace("{{CREATE}}", str(int(time.time()))).replace("{{MSGID}}", str(next(_message_ids))))


def post(client, xml: str):
    """One signed, AES-encrypted POST (a fresh nonce each time, as WeChat's retries have)."""
    params, body = simulate.sign_request(xml, token=TOKEN, appid=APPID, aes_key=AES_KEY, mode="safe")
    started = time.monotonic()
    response = client.post("/wechat", query_string=params, data=body, content_type="text/xml")
    return response, time.monotonic() - started


def stored_rows(app) -> dict[str, list[tuple]]:
    with app.extensions["wishbot"].db.sessions() as session:
        return {table.name: sorted(map(repr, session.execute(select(table)).all()))
                for table in Base.metadata.sorted_tables}


def deliver_twice(app, client, template: str, sender: str) -> list[str]:
    """What went wrong delivering one message and then its repeat (nothing: an empty list)."""
    xml = delivery(template, sender)
    first, seconds = post(client, xml)
    if first.status_code != 200:
        return [f"answered {first.status_code}: {first.data[:200]!r}"]
    problems = [f"answered after {seconds:.1f} s"] if seconds >= PROTOCOL_SECONDS else []
    first_reply = simulate.read_reply(first.data, token=TOKEN, appid=APPID, aes_key=AES_KEY)
    app.extensions["wishbot"].jobs.join()
    before = stored_rows(app)

    repeat, _ = post(client, xml)
    if repeat.status_code != 200:
        return problems + [f"the repeat was answered {repeat.status_code}"]
    repeat_reply = simulate.read_reply(repeat.data, token=TOKEN, appid=APPID, aes_key=AES_KEY)
    app.extensions["wishbot"].jobs.join()
    if repeat_reply != first_reply:
        problems.append(f"the repeat got {repeat_reply!r}, not {first_reply!r}")
    if stored_rows(app) != before:
        problems.append("the repeat changed stored data")
    return problems


def test_every_corpus_message_is_answered_once(client, app, world):
    """One app per database for all 100 files (a fresh app per file would take minutes);
    each file comes from a known resident and from a new stranger of its own."""
    failures = {}
    for number, path in enumerate(CORPUS):
        template = path.read_text(encoding="utf-8")
        for sender in ("o-wang", f"o-corpus-stranger-{number}"):
            problems = deliver_twice(app, client, template, sender)
            if problems:
                failures[f"{path.name} from {sender}"] = problems
    assert not failures, failures
