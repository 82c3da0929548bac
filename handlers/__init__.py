"""Chat commands, one module per area; composed here in one visible list."""
from bot.router import Router

from . import (
    categories,
    claims,
    dispatch,
    help,
    proxy,
    query,
    registration,
    review,
    service,
    stats,
    wishes,
)

ROUTER = Router([
    help.group, wishes.group, claims.group, query.group,
    registration.group, review.group, proxy.group, dispatch.group, categories.group, stats.group,
    service.group,
])
