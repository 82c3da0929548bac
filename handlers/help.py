"""`帮助`, the welcome, and the hint for text that is no command."""
from __future__ import annotations

from bot.router import CommandGroup

from .context import Context

group = CommandGroup()

WELCOME = ("欢迎来到微心愿助手！有困难直接告诉我您需要什么，比如：家里灯泡坏了，想请人来换一下"
           "（也可以发：许愿 需要一副老花镜）。发「帮助」看全部用法。")
HINT = "没看懂您的意思。有困难直接告诉我您需要什么，比如：需要一副老花镜；发「帮助」看看怎么用。"


def usages(ctx: Context) -> list[str]:
    return ctx.router.usages_for(ctx.person.role_set)


@group.command("帮助", "help", "?", usage="帮助 —— 查看用法", read_only=True)
def show_help(ctx: Context, args: str) -> str:
    return "您可以发：\n" + "\n".join(usages(ctx))
