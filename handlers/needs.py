"""Reading a resident's own words: a need, a greeting, thanks or a question, and which category.

Words come from jieba (a real segmenter) taught the kept lexicon `lexicon/needs.txt`, so
"面" in "见面" is no flour and "灯泡" in "家里灯泡坏了" is a light bulb. The lexicon, not code,
grows when grid workers find a word missing.
"""
from __future__ import annotations

import functools
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jieba

LEXICON = Path(__file__).with_name("lexicon") / "needs.txt"

NEED = "need"          # says what they need
VAGUE = "vague"        # asks for help without saying what ("我需要帮助")
GREETING = "greeting"
THANKS = "thanks"
QUESTION = "question"
_KINDS = (NEED, VAGUE, GREETING, THANKS, QUESTION)
_PARTICLES = frozenset("了的吧呢啊呀吗嘛哦哈噢嗯么着过地得")

jieba.setLogLevel(logging.WARNING)


@dataclass(frozen=True)
class Lexicon:
    categories: dict[str, frozenset[str]]  # in the file's order: narrower categories first
    kinds: dict[str, frozenset[str]]       # need, vague, greeting, thanks, question

    @property
    def words(self) -> set[str]:
        return set().union(*self.categories.values(), *self.kinds.values())


@functools.cache
def lexicon(path: Path = LEXICON) -> Lexicon:
    sections: dict[str, set[str]] = {}
    current: set[str] | None = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], set())
        elif current is not None:
            current.update(line.split())
    kinds = {kind: frozenset(sections.pop(kind, ())) for kind in _KINDS}
    return Lexicon(categories={name: frozenset(words) for name, words in sections.items()}, kinds=kinds)


_loading = threading.Lock()


@functools.cache
def _load() -> jieba.Tokenizer:
    tokenizer = jieba.Tokenizer()
    for word in lexicon().words:
        tokenizer.add_word(word)
    return tokenizer


def _tokenizer() -> jieba.Tokenizer:
    with _loading:  # a message arriving during warm_up waits for it instead of loading again
        return _load()


def warm_up(then: Callable[[], None] = lambda: None) -> None:
    """Load jieba's dictionary in the background: it takes a second or more (several on a busy
    machine), which the first message after a start must not spend inside WeChat's 5 seconds.
    `then` runs on the same thread once it is loaded."""
    def load() -> None:
        _tokenizer()
        then()

    threading.Thread(target=load, name="jieba-warm-up", daemon=True).start()


def words(text: str) -> list[str]:
    """The words of `text`, punctuation and spaces left out."""
    return [w for w in _tokenizer().lcut(text) if any(ch.isalnum() for ch in w)]


@dataclass(frozen=True)
class Reading:
    kind: str | None       # NEED, VAGUE, GREETING, THANKS, QUESTION, or None: none of these
    category: str | None   # the first category one of its words belongs to


def read(text: str) -> Reading:
    said = words(text)
    lex = lexicon()
    found = set(said)
    category = next((name for name, known in lex.categories.items() if found & known), None)
    kinds = {kind for kind, known in lex.kinds.items() if found & known}
    if any(word in text for word in lex.kinds[QUESTION]):  # jieba may keep 怎么弄 as one word
        kinds.add(QUESTION)
    plain = [w for w in said if not any(w in known for known in lex.kinds.values()) and w not in _PARTICLES]
    if QUESTION in kinds:
        kind = QUESTION
    elif category is not None or (NEED in kinds and plain):
        kind = NEED
    elif NEED in kinds:
        kind = VAGUE
    elif GREETING in kinds:
        kind = GREETING
    elif THANKS in kinds:
        kind = THANKS
    else:
        kind = None
    return Reading(kind=kind, category=category)


def categories() -> tuple[str, ...]:
    return tuple(lexicon().categories)
