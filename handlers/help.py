"""`帮助`, the welcome, and the hint for text that is no command."""
from __future__ import annotations

from bot.router import CommandGroup
from models import Person

from .context import Context

group = CommandGroup()

WELCOME = ("欢迎来到微心愿助手！有困难直接告诉我您需要什么，比如：家里灯泡坏了，想请人来换一下"
           "（也可以发：许愿 需要一副老花镜）。发「帮助」看全部用法。")
HINT = "没看懂您的意思。有困难直接告诉我您需要什么，比如：需要一副老花镜；发「帮助」看看怎么用。"
# For a volunteer who is no resident (who cannot wish), and for staff.
MEMBER_HINT = "没看懂您的意思。发「心愿列表」看看可以认领的心愿，比如认领12号心愿就发：认领 12；发「帮助」看看怎么用。"
STAFF_HINT = "没看懂您的意思。发「待审核」看等您审核的心愿，发「我的网格」看本网格的心愿；发「帮助」看看怎么用。"


def for_role(person: Person, *, resident: str, member: str, staff: str) -> str:
    """The text meant for what the sender can do: a resident (and anyone new) is asked what they
    need; a volunteer is shown the wishes to claim; staff their queue."""
    roles = person.role_set
    if "resident" in roles or not roles:
        return resident
    return member if "member" in roles else staff


def hint(person: Person) -> str:
    """The answer to text that is no command."""
    return for_role(person, resident=HINT, member=MEMBER_HINT, staff=STAFF_HINT)


def usages(ctx: Context) -> list[str]:
    return ctx.router.usages_for(ctx.person.role_set)


@group.command("帮助", "help", "?", usage="帮助 —— 查看用法", read_only=True, takes_args=False)
def show_help(ctx: Context, args: str) -> str:
    return "您可以发：\n" + "\n".join(usages(ctx))
