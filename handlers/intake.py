"""A wish in someone's own words, and a newcomer's first wish.

- A resident the bot knows says what they need ("家里灯泡坏了，想请人来换一下"): it is proposed
  back and `是` submits it, so nothing goes in by accident.
- Someone new (no community yet) says what they need, or `许愿 …`: their words are kept while the
  bot asks which community (a short numbered list, answered by number or name) and, where there
  are several, which grid; then the wish is recorded pending review in that grid and the grid
  worker is told a new resident is waiting. At most three messages of their own.

The words wait in a WishDraft (one per person) between the messages.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.numbers import chinese_or_arabic
from models import Community, Grid, InvalidState, WishDraft, utcnow
from models.base import local_time
from models.workflow import DRAFT_COMMUNITY, DRAFT_CONFIRM, DRAFT_GRID

from . import needs, submission
from .context import Context

DRAFT_DAYS = 2  # an older draft is forgotten: a "1" days later answers nothing
YES = frozenset({"是", "是的", "对", "对的", "好", "好的", "嗯", "嗯嗯", "确定", "提交", "要", "可以", "行", "没错"})
NO = frozenset({"不是", "不", "不对", "不用", "不用了", "算了", "取消", "不要", "不要了", "没有"})
DONT_KNOW = frozenset({"不知道", "不清楚", "不晓得", "不确定", "不记得"})
_ANSWER_EDGES = " ，,。.！!？?、~～"
_ORDINAL = "第号个"

ASK_WHAT = "请说说您需要什么，比如：需要一副老花镜，或者：家里灯泡坏了，想请人来换一下。"
CANCELLED = "好的，没有提交。有需要随时告诉我。"


# --- the draft ---------------------------------------------------------------------------------


def draft_of(ctx: Context) -> WishDraft | None:
    draft = ctx.session.scalar(select(WishDraft).where(WishDraft.person_id == ctx.person.id))
    if draft is not None and local_time(draft.created_at) < local_time(utcnow()) - timedelta(days=DRAFT_DAYS):
        ctx.session.delete(draft)
        ctx.session.flush()
        return None
    return draft


def _keep(ctx: Context, content: str, step: str, community: Community | None = None) -> WishDraft:
    draft = draft_of(ctx)
    if draft is None:
        draft = WishDraft(person_id=ctx.person.id)
        ctx.session.add(draft)
    draft.content, draft.step, draft.community, draft.created_at = content, step, community, utcnow()
    ctx.session.flush()
    return draft


def _drop(ctx: Context, draft: WishDraft) -> None:
    ctx.session.delete(draft)
    ctx.session.flush()


# --- proposing, and a newcomer's questions -------------------------------------------------------


def propose(ctx: Context, content: str) -> str:
    """A registered resident's need in everyday words, proposed back as a wish."""
    content = submission.clean_content(content)
    _keep(ctx, content, DRAFT_CONFIRM)
    return f"您是想许这个心愿吗：{content}\n回复「是」提交，回复「不是」取消。"


def start(ctx: Context, content: str) -> str:
    """Someone new says what they need: keep it, and ask where they live."""
    content = submission.clean_content(content)
    communities = list(ctx.session.scalars(select(Community).order_by(Community.id)))
    if not communities:
        raise InvalidState("还没有登记任何社区，请联系社区工作人员。")
    if len(communities) == 1:
        return _community_chosen(ctx, _keep(ctx, content, DRAFT_COMMUNITY), communities[0])
    _keep(ctx, content, DRAFT_COMMUNITY)
    return (f"您是想许这个心愿吗：{content}\n是的话，请告诉我您住在哪个社区，回复数字或社区名：\n"
            + _numbered(c.name for c in communities) + "\n（不是就回复「不是」）")


def answer(ctx: Context, text: str) -> str | None:
    """The reply when `text` answers the question the bot asked; None when it is no answer
    to a question (or none was asked), so the text is read as usual."""
    draft = draft_of(ctx)
    if draft is None:
        return None
    word = text.strip(_ANSWER_EDGES)
    if word in NO:
        _drop(ctx, draft)
        return CANCELLED
    if draft.step == DRAFT_CONFIRM:
        if word not in YES:
            return None
        _drop(ctx, draft)
        return submission.submit(ctx, draft.content)
    if draft.step == DRAFT_COMMUNITY:
        communities = list(ctx.session.scalars(select(Community).order_by(Community.id)))
        community = _pick(word, communities)
        if community is not None:
            return _community_chosen(ctx, draft, community)
        return _ask_again(draft, text, "社区", communities)
    grids = _grids_of(ctx, draft.community)
    if word in DONT_KNOW:
        return _record(ctx, draft, draft.community, None)
    grid = _pick(word, grids)
    if grid is not None:
        return _record(ctx, draft, draft.community, grid)
    return _ask_again(draft, text, "网格", grids, dont_know=True)


def _community_chosen(ctx: Context, draft: WishDraft, community: Community) -> str:
    grids = _grids_of(ctx, community)
    if len(grids) <= 1:
        return _record(ctx, draft, community, grids[0] if grids else None)
    draft.step, draft.community = DRAFT_GRID, community
    ctx.session.flush()
    return (f"{community.name}有{len(grids)}个网格，请问您住哪一个？回复数字或名称（不知道就回复「不知道」）：\n"
            + _numbered(g.name for g in grids))


def _record(ctx: Context, draft: WishDraft, community: Community, grid: Grid | None) -> str:
    person = ctx.person
    person.community, person.grid = community, grid
    wish = submission.submit_from_newcomer(ctx, draft.content)
    _drop(ctx, draft)
    where = grid.label.replace("/", "") if grid else community.name
    return (f"收到您的心愿 {wish.ref}，已登记在{where}。网格员核实后会发布，有消息会告诉您。\n"
            f"发「我的心愿」可以随时查看。")


def _ask_again(draft: WishDraft, text: str, what: str, options: list, *, dont_know: bool = False) -> str:
    """Not one of the choices. More about the need is added to the wish, never dropped."""
    added = ""
    if needs.read(text).kind == needs.NEED and text.strip(_ANSWER_EDGES) not in draft.content:
        draft.content = submission.clean_content(f"{draft.content}；{text.strip(_ANSWER_EDGES)}")
        added = "已把这句补充到您的心愿里。\n"
    hint = "（不知道就回复「不知道」）" if dont_know else ""
    return f"{added}请回复{what}前面的数字或{what}名称{hint}：\n" + _numbered(o.name for o in options)


# --- choices -------------------------------------------------------------------------------------


def _numbered(names) -> str:
    return "\n".join(f"{i}. {name}" for i, name in enumerate(names, 1))


def _grids_of(ctx: Context, community: Community) -> list[Grid]:
    return list(ctx.session.scalars(select(Grid).where(Grid.community_id == community.id).order_by(Grid.id)))


def _pick(word: str, options: list):
    """The option `word` names: its number in the list (`2`, `二`, `第2个`), its name, its name
    without 社区/网格, or a text that contains exactly one name ("我住新城社区")."""
    number = chinese_or_arabic(word.strip(_ORDINAL))
    if number is not None:
        return options[number - 1] if 1 <= number <= len(options) else None
    for candidates in (
        [o for o in options if word in (o.name, _short(o.name))],
        [o for o in options if o.name in word or (len(_short(o.name)) >= 2 and _short(o.name) in word)],
    ):
        if len(candidates) == 1:
            return candidates[0]
    return None


def _short(name: str) -> str:
    for suffix in ("社区", "网格", "小区"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name
