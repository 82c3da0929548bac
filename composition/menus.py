"""The Official Account's menus by role: a default menu, and one personalised menu per user tag
(居民, 志愿者, 网格员); people carry the tags of their roles, re-tagged whenever their roles
change. A button's key is the command its click runs (bot/conversation.py)."""
from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from handlers import ROUTER
from models import Person

log = logging.getLogger(__name__)

TAG_BATCH = 50  # openids per batchtagging call (WeChat's limit)
# Tag per role; WeChat matches personalised menus newest first, so the tags are created and the
# menus added in this order: someone both member and grid worker sees the grid worker's menu.
ROLE_TAGS = {"resident": "居民", "member": "志愿者", "gridworker": "网格员", "admin": "网格员"}
TAG_ORDER = ("居民", "志愿者", "网格员")

# Buttons: (name, command) or (name, [(name, command), …]) for a sub-menu. A button whose
# command is not registered (yet) is left out.
RESIDENT = [("我要许愿", "许愿"), ("我的心愿", "我的心愿"), ("帮助", "帮助")]
MENUS = {
    "居民": RESIDENT,
    "志愿者": [("心愿列表", "心愿列表"), ("我的认领", "我的认领"), ("更多", [("我的服务", "我的服务"), ("帮助", "帮助")])],
    "网格员": [("待审核", "待审核"), ("我的网格", "我的网格"), ("更多", [("统计", "统计"), ("帮助", "帮助")])],
}


def buttons(spec: list) -> list[dict]:
    """WeChat's button JSON: click buttons whose key is the command."""
    out = []
    for name, target in spec:
        if isinstance(target, list):
            subs = buttons(target)
            if subs:
                out.append({"name": name, "sub_button": subs})
        elif ROUTER.match(target) is not None:
            out.append({"type": "click", "name": name, "key": target})
    return out


def tags_for(person: Person) -> set[str]:
    return {ROLE_TAGS[role] for role in person.role_set if role in ROLE_TAGS}


def ensure_tags(api) -> dict[str, int]:
    known = api.tags()
    for name in TAG_ORDER:
        if name not in known:
            known[name] = api.create_tag(name)
    return known


def push_menus(api, session: Session) -> dict[str, int]:
    """Create the tags, the default menu and one personalised menu per tag; tag everyone.
    Returns how many people got each tag."""
    tag_ids = ensure_tags(api)
    api.delete_menus()
    api.create_menu(buttons(RESIDENT))
    for name in TAG_ORDER:
        api.add_conditional_menu(buttons(MENUS[name]), tag_ids[name])
    people = session.scalars(select(Person).where(Person.openid.is_not(None)).order_by(Person.id)).all()
    counts = {}
    for name in TAG_ORDER:
        openids = [p.openid for p in people if name in tags_for(p)]
        for batch in _batches(openids, TAG_BATCH):
            api.tag_users(batch, tag_ids[name])
        counts[name] = len(openids)
    return counts


def retag(api, person: Person) -> None:
    """Give the person exactly the tags of their roles (of ours; other tags are left alone)."""
    if not person.openid:
        return
    tag_ids = api.tags()
    ours = {tag_ids[name]: name for name in TAG_ORDER if name in tag_ids}
    if not ours:
        log.info("role tags not created yet (run `wishbot menu push`); %s not tagged", person.id)
        return
    wanted = {tag_ids[name] for name in tags_for(person) if name in tag_ids}
    has = {tag_id for tag_id in api.tags_of(person.openid) if tag_id in ours}
    for tag_id in sorted(wanted - has):
        api.tag_users([person.openid], tag_id)
    for tag_id in sorted(has - wanted):
        api.untag_users([person.openid], tag_id)


def _batches(items: list[str], size: int) -> Iterable[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
