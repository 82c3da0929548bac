"""代许愿: a grid worker records a wish for a resident without WeChat; it is published at once.

The resident is kept as a person without an OpenID, so their notices go to the grid worker
who recorded the wish (notices.to_person)."""
from __future__ import annotations

from sqlalchemy import select

from bot.router import CommandGroup
from models import BadInput, NotAllowed, Person, Wish, normalise_phone

from . import notices
from .context import Context
from .submission import new_wish

group = CommandGroup()
USAGE = "代许愿 姓名 手机号 内容"
MAX_NAME = 64


def resident_for(ctx: Context, name: str, phone: str) -> Person:
    """The resident with this phone number, or a new one in the grid worker's grid."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise BadInput(f"请这样写：{USAGE}")
    phone = normalise_phone(phone)
    known = ctx.session.scalar(
        select(Person).where(Person.phone == phone, Person.roles.contains("resident")).order_by(Person.id).limit(1))
    if known is not None:
        if not ctx.scope.covers_person(known):  # never say whose number it is outside the grid
            raise NotAllowed(f"手机号 {phone} 的居民不在您负责的网格，请联系其所在网格的网格员代许愿。")
        if known.name != name:
            raise BadInput(f"手机号 {phone} 已登记为{known.name}，请核对姓名。")
        return known
    staff = ctx.person
    if staff.community is None:
        raise BadInput("您没有所属社区，新居民无处登记。请让TA所在网格的网格员代许愿，或先在管理台「花名册」导入这位居民，再代许愿。")
    resident = Person(openid=None, name=name, phone=phone, roles="resident",
                      community=staff.community, grid=staff.grid)
    ctx.session.add(resident)
    return resident


def record_wish_for(ctx: Context, name: str, phone: str, content: str) -> Wish:
    resident = resident_for(ctx, name, phone)
    wish = new_wish(ctx, content, requester=resident, recorded_by=ctx.person)
    ctx.scope.require_staff_of(wish)  # a known resident may live in another grid
    ctx.change(wish, "record", lambda: wish.publish_directly(ctx.person), notices.wish_published,
               f"网格员代许愿（{resident.masked_name}）", new=True)
    return wish


@group.command("代许愿", roles={"gridworker", "admin"},
               usage="代许愿 张桂兰 13812345678 需要一个助听器 —— 为没有微信的居民登记心愿")
def record_wish(ctx: Context, args: str) -> str:
    words = args.split(" ", 2)
    if len(words) < 3 or not words[2].strip():
        raise BadInput(f"请这样写：{USAGE}，比如：代许愿 张桂兰 13812345678 需要一个助听器")
    name, phone, content = words
    wish = record_wish_for(ctx, name, phone, content)
    return f"已为 {wish.requester.name} 登记心愿 {wish.ref}，已发布到志愿者群。有消息会发给您转告。"
