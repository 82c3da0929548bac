"""Six months of fulfilled wishes for the demo, so the ledger and the figures have a past.
Deterministic: the same history every run."""
from __future__ import annotations

import random
from datetime import timedelta

from sqlalchemy import select

from handlers import directory
from handlers.categories import guess_category
from handlers.context import Context
from handlers.wishes import new_wish
from models import Community, Person, WishEvent, utcnow

CONTENTS = [
    "需要一副老花镜，看报纸看不清了", "想要一个书包和一套文具", "家里水龙头漏水，想请人修一下",
    "腿脚不便，想借一个轮椅", "想请人上门理发", "需要一个助听器", "楼道灯坏了，想请人换一下",
    "想要几本课外书", "独居老人，想有人周末来陪着聊聊天", "家里暖气片漏水，想请人看看",
    "想要一根拐杖", "孩子想学画画，需要一盒彩笔和画本", "想请人帮忙打扫一下屋子", "需要一个血压计",
    "想要一件过冬的棉衣", "窗户关不严，想请人修一下", "想请人教用智能手机挂号",
]
RESIDENT_NAMES = ["张桂兰", "李淑珍", "王凤英", "刘玉兰", "陈秀英", "杨桂芳", "赵玉珍", "黄淑华", "周凤琴",
                  "吴秀珍", "徐桂英", "孙立新", "马德华", "朱建民", "胡志强", "郭永福"]
MEMBERS = [("韩晓东", "市税务局"), ("曹丽娟", "市司法局"), ("邓伟", "市公安局南康分局"),
           ("彭静", "市税务局稽查局"), ("宋佳", "市实验幼儿园"), ("唐志刚", "市司法局")]
MONTHS = 6
PER_MONTH = (5, 9)  # fulfilled wishes per community and month


def seed_history(session, communities: list[str]) -> None:
    rng = random.Random(2026)
    now = utcnow()
    for community_name in communities:
        community = session.scalar(select(Community).where(Community.name == community_name))
        grid = community.grids[0]
        gridworker = session.scalar(select(Person).where(
            Person.roles.contains("gridworker"), Person.community_id == community.id))
        members = [directory.add_person(session, None, "member", name, community=community_name, unit=unit)
                   for name, unit in rng.sample(MEMBERS, 3)]
        residents = [directory.add_person(session, None, "resident", name, phone=f"138{rng.randrange(10**8):08d}",
                                          grid=f"{community_name}/{grid.name}")
                     for name in rng.sample(RESIDENT_NAMES, 6)]
        for month in range(MONTHS, 0, -1):
            for _ in range(rng.randint(*PER_MONTH)):
                created = now - timedelta(days=30 * month - rng.randint(0, 27), hours=rng.randint(0, 10))
                _fulfilled_wish(session, rng, rng.choice(residents), gridworker, rng.choice(members), created)
    session.flush()


def _fulfilled_wish(session, rng: random.Random, requester: Person, gridworker: Person | None,
                    member: Person, created) -> None:
    ctx = Context(session=session, person=gridworker or requester, channel="demo")
    wish = new_wish(ctx, rng.choice(CONTENTS), requester=requester, recorded_by=gridworker)
    wish.category = guess_category(wish.content)
    wish.publish(gridworker)
    claim = wish.claim_by(member)
    # Hours from the content, not the random generator, so the rest of the history stays as it was.
    wish.complete_by(member, "已办好", hours=1 + len(wish.content) % 4 * 0.5)
    confirmed = rng.random() < 0.85
    if confirmed:
        wish.confirm(gridworker or requester, rng.choice([None, "很满意", "谢谢党员同志"]), rng.choice([4, 5, 5]))
    published = created + timedelta(hours=rng.randint(2, 30))
    claimed = published + timedelta(hours=rng.randint(1, 72))
    completed = claimed + timedelta(hours=rng.randint(4, 120))
    wish.created_at, wish.published_at, wish.claimed_at, wish.completed_at = created, published, claimed, completed
    wish.confirmed_at = completed + timedelta(hours=rng.randint(2, 48)) if confirmed else None
    claim.created_at, claim.ended_at = claimed, completed
    claim.hours_recorded_at, claim.hours_verified_at = completed, wish.confirmed_at
    session.flush()
    for action, moment, after in (("submit", created, "pending_review"), ("publish", published, "published"),
                                  ("claim", claimed, "claimed"), ("complete", completed, "completed"),
                                  ("confirm", wish.confirmed_at, "confirmed")):
        if moment is not None:
            session.add(WishEvent(wish_id=wish.id, actor_id=None, channel="demo", action=action,
                                  after=after, created_at=moment))
