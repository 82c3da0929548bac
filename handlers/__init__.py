"""Chat commands, one module per area; composed here in one visible list."""
from bot.router import Router

from . import claims, help, query, review, wishes

ROUTER = Router([help.group, wishes.group, claims.group, review.group, query.group])
