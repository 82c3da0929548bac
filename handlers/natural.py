"""Text that is no command but plainly means something: the fallback slot, tried only after
every command failed to match.

- A resident's wish in their own words, typed or spoken (voice arrives as its Recognition
  text): "我想许个愿，需要一个助听器". Only phrasings that open with a wish phrase count, so a
  question that merely mentions 许愿 still gets the hint.
- A bare community name answers the bot's question about a registration (报到).
- An answer to a question the bot asked about a wish (`是`, a community's number): handlers/intake.
- A need in everyday words ("家里灯泡坏了，想请人来换一下"), read with handlers/needs: proposed
  back as a wish (or, from someone new, kept while the bot asks where they live). Greetings and
  thanks get a friendly word; questions get the hint.
"""
from __future__ import annotations

import re

from . import intake, needs
from .context import Context
from .help import for_role
from .registration import answer_community
from .wishes import submit_wish

_SPOKEN_WISH = re.compile(
    r"^(?:我|俺)?(?:想|要|想要|希望|来)?(?:许|提|说)(?:个|一个|一下)?(?:小)?(?:心愿|愿望|愿)(?:吧|啊|呀)?"
    r"(?P<content>(?:[，,。.：:！!\s].*)?)$"
    r"|^(?:我|俺)有(?:个|一个)(?:小)?(?:心愿|愿望)(?:是)?(?P<content2>(?:[，,。.：:！!\s].*)?)$",
    re.DOTALL,
)
ASK_FOR_CONTENT = "请说说您的心愿，比如：我想许个愿，需要一副老花镜。"
GREETING_REPLY = "您好！我是微心愿助手。有困难直接告诉我您需要什么，比如：需要一副老花镜。发「帮助」看全部用法。"
MEMBER_GREETING = "您好！我是微心愿助手。发「心愿列表」看看可以认领的心愿；发「帮助」看全部用法。"
STAFF_GREETING = "您好！我是微心愿助手。发「待审核」看等您审核的心愿；发「帮助」看全部用法。"
THANKS_REPLY = "不客气！有需要随时告诉我。"


def spoken_wish(text: str) -> str | None:
    """The wish inside a natural phrasing ('' when it has none yet), or None when it is not one."""
    match = _SPOKEN_WISH.match(text.strip())
    if match is None:
        return None
    return (match.group("content") or match.group("content2") or "").strip(" ，,。.：:！!")


def understand(ctx: Context, text: str) -> str | None:
    """A reply for text no command matched, or None to give the usual hint."""
    for answer in (intake.answer, answer_community):
        reply = answer(ctx, text)
        if reply is not None:
            return reply
    reading = needs.read(text)
    if ctx.person.has_role("resident"):
        content = spoken_wish(text)
        if content is not None:
            return submit_wish(ctx, content) if content else ASK_FOR_CONTENT
        if reading.kind == needs.NEED:
            return intake.propose(ctx, text) if ctx.person.community else intake.start(ctx, text)
        if reading.kind == needs.VAGUE:
            return intake.ASK_WHAT
    if reading.kind == needs.GREETING:
        return for_role(ctx.person, resident=GREETING_REPLY, member=MEMBER_GREETING, staff=STAFF_GREETING)
    if reading.kind == needs.THANKS:
        return THANKS_REPLY
    return None
