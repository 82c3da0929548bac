"""Commands: matching is kept apart from handling so the parser can be tested on its own.

Each handler module owns a CommandGroup; `Router` composes them in one visible list and
refuses duplicate keywords at start-up. A command's `usage` is its help line.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable

Handler = Callable[[Any, str], str]


@dataclass(frozen=True)
class Command:
    keywords: tuple[str, ...]
    handler: Handler
    roles: frozenset[str] | None  # None: anyone may use it
    usage: str
    read_only: bool = False  # answers from committed data and changes nothing (see composition/conversation.py)

    def allows(self, roles: Iterable[str]) -> bool:
        return self.roles is None or bool(self.roles.intersection(roles))


class CommandGroup:
    def __init__(self) -> None:
        self.commands: list[Command] = []

    def command(self, *keywords: str, roles: Iterable[str] | None = None, usage: str = "",
                read_only: bool = False):
        def register(handler: Handler) -> Handler:
            self.commands.append(
                Command(tuple(keywords), handler, frozenset(roles) if roles else None, usage, read_only)
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

    def match(self, text: str) -> Match | None:
        """`text` is already normalised. Keywords may be glued to their arguments."""
        for keyword, command in self._by_keyword:
            if text == keyword or text.startswith(keyword):
                return Match(command, keyword, text[len(keyword):].strip())
        return None

    def usages_for(self, roles: Iterable[str]) -> list[str]:
        roles = frozenset(roles)
        return [c.usage for c in self.commands if c.usage and c.allows(roles)]
