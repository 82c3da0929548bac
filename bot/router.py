"""Commands: matching is kept apart from handling so the parser can be tested on its own.

Each handler module owns a CommandGroup; `Router` composes them in one visible list and
refuses duplicate keywords at start-up. A command's `usage` is its help line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

from pypinyin import lazy_pinyin

from .numbers import is_cjk, parse_number, split_number

Handler = Callable[[Any, str], str]


@dataclass(frozen=True)
class Command:
    keywords: tuple[str, ...]
    handler: Handler
    roles: frozenset[str] | None  # None: anyone may use it
    usage: str
    read_only: bool = False  # answers from committed data and changes nothing (see composition/conversation.py)
    # False: the keyword alone is the command; followed by more (`帮助我修一下水管`) it is a sentence.
    takes_args: bool = True

    def allows(self, roles: Iterable[str]) -> bool:
        return self.roles is None or bool(self.roles.intersection(roles))


class CommandGroup:
    def __init__(self) -> None:
        self.commands: list[Command] = []

    def command(self, *keywords: str, roles: Iterable[str] | None = None, usage: str = "",
                read_only: bool = False, takes_args: bool = True):
        def register(handler: Handler) -> Handler:
            self.commands.append(
                Command(tuple(keywords), handler, frozenset(roles) if roles else None, usage, read_only, takes_args)
            )
            return handler

        return register


@dataclass(frozen=True)
class Match:
    command: Command
    keyword: str
    args: str


class DuplicateKeyword(Exception):
    pass


class Router:
    def __init__(self, groups: Iterable[CommandGroup]) -> None:
        self.commands: list[Command] = [c for group in groups for c in group.commands]
        seen: dict[str, Command] = {}
        for command in self.commands:
            for keyword in command.keywords:
                if keyword in seen:
                    raise DuplicateKeyword(f"keyword {keyword!r} is registered twice")
                seen[keyword] = command
        # Longest first, so `心愿列表` wins over `心愿`.
        self._by_keyword = sorted(seen.items(), key=lambda item: -len(item[0]))

        self._usages: dict[frozenset[str], tuple[str, ...]] = {}
        self._by_sound: dict[tuple[str, ...], list[tuple[str, Command]]] = {}
        for keyword, command in self._by_keyword:
            if all(is_cjk(char) for char in keyword):
                self._by_sound.setdefault(_sound(keyword), []).append((keyword, command))

    def match(self, text: str) -> Match | None:
        """`text` is already normalised. Keywords may be glued to their arguments."""
        for keyword, command in self._by_keyword:
            if text == keyword or (command.takes_args and text.startswith(keyword)):
                return Match(command, keyword, text[len(keyword):].strip())
        return None

    def match_homophone(self, text: str) -> Match | None:
        """A keyword misheard by speech recognition (`任领216` for `认领216`): the text opens with
        characters that sound like exactly one command's keyword (tones aside), and what follows
        is nothing or a number, so ordinary sentences that open with a homophone stay sentences.
        Several commands sounding alike: None."""
        lengths = sorted({len(sound) for sound in self._by_sound}, reverse=True)
        for length in lengths:
            head, rest = text[:length], text[length:].strip()
            if len(head) < length or not all(is_cjk(char) for char in head):
                continue
            if rest and parse_number(split_number(rest)[0]) is None:
                continue
            found = self._by_sound.get(_sound(head), [])
            commands = {id(command) for _keyword, command in found}
            if len(commands) == 1:
                keyword, command = found[0]
                return Match(command, keyword, rest) if command.takes_args or not rest else None
            if commands:
                return None
        return None

    def usages_for(self, roles: Iterable[str]) -> list[str]:
        roles = frozenset(roles)
        if roles not in self._usages:  # a handful of role sets; the commands never change
            self._usages[roles] = tuple(c.usage for c in self.commands if c.usage and c.allows(roles))
        return list(self._usages[roles])


def _sound(word: str) -> tuple[str, ...]:
    return tuple(lazy_pinyin(word))
