"""`帮助`, the welcome, and the hint for text that is no command."""
from __future__ import annotations

from bot.router import CommandGroup

from .context import Context

group = CommandGroup()

WELCOME = ("欢迎来到微心愿助手！有困难可以直接发「许愿 内容」，比如：许愿 需要一副老花镜。"
           "发「帮助」看全部用法。")
HINT = "没看懂您的意思。发「帮助」看看怎么用，许愿请发「许愿 内容」。"


def usages(ctx: Context) -> list[str]:
    return ctx.router.usages_for(ctx.person.role_set)


@group.command("帮助", "help", "?", usage="帮助 —— 查看用法", read_only=True)
def show_help(ctx: Context, args: str) -> str:
    return "您可以发：\n" + "\n".join(usages(ctx))
