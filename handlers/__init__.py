"""Chat commands, one module per area; composed here in one visible list."""
from bot.router import Router
from models import NotAllowed

from . import (
    categories,
    claims,
    dispatch,
    help,
    proxy,
    query,
    queue,
    registration,
    review,
    service,
    stand_in,
    stats,
    wishes,
)

ROUTER = Router([
    help.group, wishes.group, claims.group, query.group,
    registration.group, review.group, proxy.group, dispatch.group, stand_in.group, categories.group, stats.group,
    queue.group, service.group,
])


def run_command(ctx, text: str) -> str:
    """The reply to one command, with the role check every channel shares (chat, phone page)."""
    match = ROUTER.match(text)
    return help.hint(ctx.person) if match is None else run_match(ctx, match)


def run_match(ctx, match) -> str:
    """Run the matched command; NotAllowed (a refusal that changes nothing) when the sender's
    roles do not allow it."""
    if not match.command.allows(ctx.person.role_set):
        raise NotAllowed(f"「{match.keyword}」不是您能用的命令。发「帮助」看看您能做什么。")
    return match.command.handler(ctx, match.args)
