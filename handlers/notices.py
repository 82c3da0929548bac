"""The notices each change sends, as outbox rows. Group texts never carry a requester's
phone number, address or full name: every text that quotes a wish quotes it scrubbed
(models.privacy), except the private one to its claimer, who is given the contact details."""
from __future__ import annotations

import json
from typing import Callable

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, object_session

from bot.links import links_of
from models import Claim, Grid, Notice, Person, Registration, Wish
from models.privacy import brief, scrub, shorten
from models.scope import ALL, COMMUNITY, GRID, Scope
from models.wish import PUBLISHED, format_hours

from .context import Context


def _brief(wish: Wish, limit: int = 40) -> str:
    """The wish's text for anyone: scrubbed, then shortened."""
    return brief(wish.content, limit, wish.requester)


def _claimer_label(claim: Claim) -> str:
    unit = claim.member.unit.name if claim.member.unit else None
    return f"{claim.member.name}（{unit}）" if unit else claim.member.name


def _where(wish: Wish) -> str:
    return f"{wish.community.name}{wish.grid.name if wish.grid else ''}"


def to_robot(url: str | None, fallback: str, **fields) -> Notice:
    """A group notice: to the group robot at `url`, or, with none configured, to the log under
    the `fallback` name."""
    return Notice(channel="robot" if url else "log", target=url or fallback, **fields)


def to_group(wish: Wish, event: str, text: str) -> Notice:
    """A push to the community's volunteers. While the wish is open to claims it carries the
    link to the wish's phone page: ordinary WeChat groups have no bots, so a member claims there
    (or in the Official Account chat), never by typing in the group."""
    text = scrub(text, wish.requester)
    links = links_of(object_session(wish))
    if links is not None and wish.status == PUBLISHED:
        text += f"\n一键认领：{links.page_url(wish.id)}"
    return to_robot(wish.community.robot_url, f"group:{wish.community.name}", event=event, wish_id=wish.id,
                    audience="group", text=text)


def to_gridworkers(wish: Wish, event: str, text: str) -> Notice:
    url = wish.grid.robot_url if wish.grid else None
    label = wish.grid.label if wish.grid else wish.community.name
    return to_robot(url, f"gridworkers:{label}", event=event, wish_id=wish.id, audience="gridworkers",
                    text=scrub(text, wish.requester))


def to_grid_staff(session: Session, wish: Wish, event: str, text: str) -> list[Notice]:
    """A notice asking staff to act on the wish (审核 it): its grid workers' group robot; without
    one, privately to those who may act on it (deciders_of); the log when nobody is reachable."""
    if wish.grid is not None and wish.grid.robot_url:
        return [to_gridworkers(wish, event, text)]
    staff = deciders_of(session, wish)
    if not staff:
        return [to_gridworkers(wish, event, text)]
    return [to_person(session, person, event, text, wish) for person in staff]


def _reachable(person: Person) -> bool:
    return person.reachable


def deciders_of(session: Session, wish: Wish, usable: Callable[[Person], bool] = _reachable) -> list[Person]:
    """The people who may act on the wish (Scope.covers, as its commands ask) and are `usable`
    (reachable in chat, by default), nearest first: its grid's grid workers; else its community's
    staff (those whose area is the whole community); else the admins. Never a grid worker of
    another grid, whom the scope refuses."""
    in_community = or_(Person.community_id == wish.community_id,
                       Person.grid_id.in_(select(Grid.id).where(Grid.community_id == wish.community_id)))
    staff = list(session.scalars(select(Person).where(
        Person.roles.contains("gridworker"), in_community).order_by(Person.id)))
    for area in (GRID, COMMUNITY):
        tier = [p for p in staff if usable(p) and _covers(p, wish, area)]
        if tier:
            return tier
    return [p for p in admins(session) if usable(p) and _covers(p, wish, ALL)]


def _covers(person: Person, wish: Wish, area: str) -> bool:
    scope = Scope.of_person(person)
    return scope.area == area and scope.covers(wish)


# Notice channel per identity channel: the Official Account's customer-service (or template)
# messages, the WeCom application's messages.
NOTICE_CHANNEL = {"wechat": "official", "wecom": "wecom"}


def to_person(session: Session, person: Person, event: str, text: str,
              wish: Wish | None = None, template: dict | None = None) -> Notice:
    """A private notice, through the channel the person last wrote on (delivery falls back to
    the other). Someone with neither is told through a grid worker, who passes it on: the one
    who recorded the wish for them (代许愿), else one of their grid's or community's.
    `template` is the notice as a template message (template_fields), for when the
    customer-service window is closed."""
    recipient, body = person, text
    if not person.reachable:
        relay = _relay_for(session, person, wish)
        if relay is not None:
            contact = f"，电话 {person.phone}" if person.phone else ""
            recipient, body, template = relay, f"【请转告 {person.name}{contact}】{text}", None
    notice = Notice(event=event, wish_id=wish.id if wish else None, person_id=person.id,
                    audience="private", channel="log", target=f"person:{person.id}", text=body,
                    template=json.dumps(template, ensure_ascii=False) if template else None)
    channels = recipient.channels_to_try()
    if channels:
        notice.channel, notice.target = NOTICE_CHANNEL[channels[0]], recipient.identity(channels[0])
    return notice


def on_other_channel(session: Session, failed: Notice) -> Notice | None:
    """The same notice through the recipient's other channel, when they have one."""
    column = Person.openid if failed.channel == "official" else Person.wecom_userid
    recipient = session.scalar(select(Person).where(column == failed.target))
    if recipient is None:
        return None
    used = next(c for c, n in NOTICE_CHANNEL.items() if n == failed.channel)
    other = next((c for c in recipient.channels_to_try() if c != used), None)
    if other is None:
        return None
    return Notice(event=failed.event, wish_id=failed.wish_id, person_id=failed.person_id, audience="private",
                  channel=NOTICE_CHANNEL[other], target=recipient.identity(other), text=failed.text,
                  template=failed.template, fallback_for_id=failed.id)


def _relay_for(session: Session, person: Person, wish: Wish | None) -> Person | None:
    if wish is not None and wish.recorded_by and wish.recorded_by.reachable:
        return wish.recorded_by
    staff = deciders_of(session, wish) if wish is not None else []
    if not staff and person.community_id:
        staff = [p for p in staff_of_community(session, person.community_id) if p.reachable]
    return staff[0] if staff else None


# --- template messages: each field at most 20 characters, no newlines (WeChat's rules) -------

TEMPLATE_FIELD = 20
TEMPLATE_PHRASE = 5
TEMPLATE_NUMBER = 32  # character_string: ASCII


def template_fields(kind: str, subject: str, number: str, state: str, detail: str) -> dict:
    """A template notice of `kind` (claimed, completed, released, registration). Every kind
    fills the same four fields, so one library template shape serves them all:
    thing1 (what), character_string2 (its number), phrase3 (what happened), thing4 (more)."""
    return {"kind": kind, "data": {
        "thing1": shorten(subject, TEMPLATE_FIELD), "character_string2": shorten(number, TEMPLATE_NUMBER),
        "phrase3": shorten(state, TEMPLATE_PHRASE), "thing4": shorten(detail, TEMPLATE_FIELD)}}


def _wish_template(kind: str, wish: Wish, state: str, detail: str) -> dict:
    """A template notice about a wish: its text scrubbed, as anywhere outside the chat."""
    return template_fields(kind, brief(wish.content, TEMPLATE_FIELD, wish.requester), wish.ref, state, detail)


# --- one function per event ----------------------------------------------------------------


def wish_submitted(session: Session, wish: Wish) -> list[Notice]:
    return [to_gridworkers(
        wish, "submitted",
        f"待审核心愿 {wish.ref}（{_where(wish)}，{wish.requester.masked_name}）：{_brief(wish)}\n"
        f"回复「审核 {wish.id} 通过」或「审核 {wish.id} 驳回 原因」。",
    )]


def newcomer_wish(session: Session, wish: Wish) -> list[Notice]:
    """Someone new placed themselves in this grid with their first wish: its grid workers check
    who they are before publishing it."""
    return to_grid_staff(
        session, wish, "newcomer",
        f"新居民许愿 {wish.ref}（{_where(wish)}）：{_brief(wish)}\n"
        f"这位居民刚关注公众号，还没有登记，请核实后回复「审核 {wish.id} 通过」或「审核 {wish.id} 驳回 原因」。",
    )


def wish_published(session: Session, wish: Wish) -> list[Notice]:
    slots = f"，需要{wish.slots}人" if wish.slots > 1 else ""
    notices = [to_group(
        wish, "published",
        f"新心愿 {wish.ref}（{_where(wish)}，{wish.requester.masked_name}{slots}）：{_brief(wish, 80)}\n"
        f"回复「认领 {wish.id}」认领。",
    )]
    if wish.requester.reachable or wish.recorded_by is None:  # else it would tell the recorder what they did
        notices.append(to_person(session, wish.requester, "published",
                                 f"您的心愿 {wish.ref} 已发布，有人认领会告诉您。", wish))
    return notices


def wish_withdrawn(session: Session, wish: Wish) -> list[Notice]:
    return [to_group(wish, "withdrawn", f"心愿 {wish.ref} 已由许愿人撤回。")]


def wish_rejected(session: Session, wish: Wish) -> list[Notice]:
    return [to_person(session, wish.requester, "rejected",
                      f"您的心愿 {wish.ref} 未通过审核：{wish.reject_reason}。有疑问请找网格员。", wish)]


def wish_claimed(session: Session, wish: Wish, claim: Claim) -> list[Notice]:
    requester = wish.requester
    remaining = f"，还差{wish.open_slots}人" if wish.open_slots else ""
    contact = "，".join(filter(None, [
        f"许愿人：{requester.name}",
        f"电话：{requester.phone}" if requester.phone else None,
        f"地址：{requester.address}" if requester.address else None,
    ]))
    if not requester.phone:  # someone who wrote in first, never leaving a number: the grid worker knows them
        helper = next(iter(deciders_of(session, wish, usable=lambda p: bool(p.phone))), None)
        if helper is not None:
            contact += f"\n许愿人没有留电话，请联系网格员{helper.name}（{helper.phone}）。"
    if claim.assigned_by is not None:
        taken = f"心愿 {wish.ref} 已派给 {_claimer_label(claim)}{remaining}。"
        to_claimer = (f"网格员{claim.assigned_by.name}给您派了心愿 {wish.ref}：{shorten(wish.content, 80)}\n{contact}\n"
                      + _when_done(claim.member, wish, f"完成后回复「完成 {wish.id}」；不方便请回复「放弃 {wish.id}」。"))
    else:
        taken = f"心愿 {wish.ref} 已由 {_claimer_label(claim)} 认领{remaining}。"
        to_claimer = (f"您认领了心愿 {wish.ref}：{shorten(wish.content, 80)}\n{contact}\n"
                      f"完成后回复「完成 {wish.id}」。")
    return [
        to_group(wish, "claimed", taken),
        to_person(session, requester, "claimed",
                  f"您的心愿 {wish.ref} 已有人认领：{_claimer_label(claim)}，会尽快联系您。", wish,
                  _wish_template("claimed", wish, "已认领", _claimer_label(claim))),
        to_person(session, claim.member, "contact", to_claimer, wish),
    ]


def _when_done(member: Person, wish: Wish, reply: str) -> str:
    """What a claimer replies when done (`reply`); for one without WeChat or WeCom, whom a grid
    worker tells (to_person), a word to that grid worker instead: the member cannot reply."""
    if member.reachable:
        return reply
    return (f"（{member.name}没有绑定微信，回复不了「完成」「放弃」：TA做完了，请您回复「代完成 {wish.id} {member.name}」；"
            f"做不了，回复「代放弃 {wish.id} {member.name}」。）")


def claim_released(session: Session, wish: Wish, claim: Claim) -> list[Notice]:
    """A claimer gave up: the wish is open again, and the resident and the assigner are told."""
    return _reopened(session, wish, [claim], "放弃了认领")


def claim_cancelled(session: Session, wish: Wish, claim: Claim, *, staff: Person,
                    reason: str | None) -> list[Notice]:
    """Staff ended a claim for its member (代放弃): the wish reopens as when they give it up, and
    the member, when they can be written to, hears who ended it."""
    notices = _reopened(session, wish, [claim], "的认领已取消", by=staff)
    if _told_directly(claim.member, staff):
        why = f"（{reason}）" if reason else ""
        notices.append(to_person(session, claim.member, "released",
                                 f"网格员{staff.name}已取消您对心愿 {wish.ref} 的认领{why}，谢谢您的关心！", wish))
    return notices


def _told_directly(member: Person, staff: Person) -> bool:
    """Whether a claimer should hear what staff did for them: not when staff is the claimer, nor
    when the member has no chat, since then the one passing it on is staff, who knows."""
    return member.id != staff.id and member.reachable


def _reopened(session: Session, wish: Wish, claims: list[Claim], how: str,
              by: Person | None = None) -> list[Notice]:
    """One group push and one word to the resident however many claims ended at once; the one
    who assigned a claim hears of it too, unless they ended it themselves (`by`)."""
    who = "、".join(_claimer_label(claim) for claim in claims)
    notices = [
        to_group(wish, "released", f"心愿 {wish.ref} 重新开放认领：{_brief(wish)}\n回复「认领 {wish.id}」认领。"),
        to_person(session, wish.requester, "released",
                  f"您的心愿 {wish.ref}，{who}{how}。心愿已重新开放，会有其他志愿者来认领。", wish,
                  _wish_template("released", wish, "重新开放", f"{who}{how}")),
    ]
    for claim in claims:
        assigner = claim.assigned_by
        if assigner is not None and assigner.id != claim.member_id and (by is None or assigner.id != by.id):
            notices.append(to_person(session, assigner, "released",
                                     f"您派的心愿 {wish.ref}，{claim.member.name}{how}。"
                                     f"可以改派给别人：派单 {wish.id} 加志愿者姓名", wish,
                                     _wish_template("released", wish, "可改派", f"{claim.member.name}{how}")))
    return notices


def claim_completed(session: Session, wish: Wish, claim: Claim) -> list[Notice]:
    notices = [to_group(wish, "completed", f"心愿 {wish.ref} 已由 {_claimer_label(claim)} 完成，谢谢！")]
    if wish.status == "completed":
        notices.append(to_person(
            session, wish.requester, "completed",
            f"您的心愿 {wish.ref} 已完成。收到了请回复「确认 {wish.id}」，也可以加上您的评价。", wish,
            _wish_template("completed", wish, "已完成", f"收到了请回复：确认 {wish.id}"),
        ))
    return notices


def claim_completed_for(session: Session, wish: Wish, claim: Claim, *, staff: Person) -> list[Notice]:
    """Staff reported a claim done for its member (代完成): as if they had, and the member hears it."""
    notices = claim_completed(session, wish, claim)
    if _told_directly(claim.member, staff):
        hours = f"，工时 {format_hours(claim.hours)}" if claim.hours is not None else ""
        notices.append(to_person(session, claim.member, "completed",
                                 f"网格员{staff.name}已替您报告心愿 {wish.ref} 完成{hours}，谢谢您！", wish))
    return notices


def wish_confirmed(session: Session, wish: Wish) -> list[Notice]:
    confirmer = "许愿人"
    if wish.confirmed_by_id not in (None, wish.requester_id):  # staff, for a resident without the bot
        confirmer = f"{session.get(Person, wish.confirmed_by_id).name}代许愿人"
    notices = [to_group(wish, "confirmed", f"心愿 {wish.ref} 已圆梦，{confirmer}已确认，感谢各位！")]
    for claim in wish.claims:
        if claim.status == "completed":
            hours = f"您的工时 {claim.hours:g}小时 已核实。" if claim.hours else ""
            notices.append(to_person(session, claim.member, "confirmed",
                                     f"{confirmer}已确认心愿 {wish.ref}，{hours}谢谢您！", wish))
    return notices


# --- volunteer registration (双报到) -----------------------------------------------------------


def staff_of_community(session: Session, community_id: int) -> list[Person]:
    """The community's grid workers; its admins when it has none."""
    gridworkers = list(session.scalars(select(Person).where(
        Person.roles.contains("gridworker"), Person.community_id == community_id).order_by(Person.id)))
    return gridworkers or admins(session)


def admins(session: Session) -> list[Person]:
    return list(session.scalars(select(Person).where(Person.roles.contains("admin")).order_by(Person.id)))


def registration_submitted(session: Session, registration: Registration) -> list[Notice]:
    text = (f"新的报到申请 {registration.ref}：{registration.name}（{registration.unit_name}，"
            f"{registration.phone}）到{registration.community.name}报到。\n"
            f"回复「审核 {registration.ref} 通过」或「审核 {registration.ref} 驳回 原因」。")
    staff = staff_of_community(session, registration.community_id)
    # Staff without WeChat (a dashboard-only login) would be relayed through a grid worker, who
    # already gets it: tell each reachable one once.
    reachable = [person for person in staff if person.reachable] or staff[:1]
    return [to_person(session, person, "registration", text) for person in reachable]


def registration_approved(session: Session, registration: Registration) -> list[Notice]:
    return [to_person(session, registration.person, "registration_approved",
                      f"您的报到申请 {registration.ref} 已通过，欢迎成为{registration.community.name}的志愿者！"
                      f"发「心愿列表」看看可以认领的心愿。",
                      template=template_fields("registration", f"{registration.community.name}志愿者报到",
                                               registration.ref, "已通过", "欢迎！发「心愿列表」看看"))]


def registration_rejected(session: Session, registration: Registration) -> list[Notice]:
    return [to_person(session, registration.person, "registration_rejected",
                      f"您的报到申请 {registration.ref} 未通过：{registration.reason}。有疑问请联系社区。",
                      template=template_fields("registration", f"{registration.community.name}志愿者报到",
                                               registration.ref, "未通过", registration.reason or "请联系社区"))]


# --- delivery follow-ups and reminders (bot/delivery.py, handlers/digest.py) ------------------------


def claim_reminder(session: Session, claim: Claim, days: int) -> list[Notice]:
    wish = claim.wish
    return [to_person(session, claim.member, "reminder",
                      f"您认领的心愿 {wish.ref}（{_brief(wish)}）已经{days}天了。"
                      + _when_done(claim.member, wish, f"完成后请回复「完成 {wish.id}」；做不了请回复「放弃 {wish.id}」。"),
                      wish)]


def claims_expired(session: Session, wish: Wish, claims: list[Claim], days: int) -> list[Notice]:
    """Claims idle too long, released by the system together: tell each claimer, then reopen
    the wish once (a 3-slot wish is one group push, not three)."""
    told = [to_person(session, claim.member, "expired",
                      f"您认领的心愿 {wish.ref} {days}天没有完成，已自动放弃，重新开放给其他志愿者。谢谢您！", wish,
                      _wish_template("released", wish, "已放弃", f"{days}天没有完成，已自动放弃"))
            for claim in claims]
    return told + _reopened(session, wish, claims, f"认领{days}天没有完成，已自动取消")


def cannot_deliver(session: Session, refused: Notice) -> list[Notice]:
    """Delivery's policy for a private notice that cannot go (no template, refused for good):
    the same notice through the person's other channel, else the grid workers phone it through."""
    other = on_other_channel(session, refused) if refused.fallback_for_id is None else None
    return [other] if other is not None else pass_on_by_phone(session, refused)


def pass_on_by_phone(session: Session, refused: Notice) -> list[Notice]:
    """A private notice WeChat refused (45015: the person has not written for 48 hours): ask the
    grid workers to phone it through. Group texts stay free of a requester's contact details;
    the grid workers find them with 查询."""
    person = session.get(Person, refused.person_id) if refused.person_id else None
    if person is None:
        return []
    wish = session.get(Wish, refused.wish_id) if refused.wish_id else None
    who = _who(person, wish)
    text = (f"【请电话转告】{who}超过48小时没有和公众号互动，收不到消息。请打电话告诉TA：\n"
            f"{scrub(refused.text, wish.requester if wish else None, person)}")
    if wish is not None:
        group = to_gridworkers(wish, "pass_on", text)
        staff = deciders_of(session, wish)
        Context.system(session).change(wish, "pass_on", note=f"私信未送达（超过48小时），已请网格员电话转告{who}")
    else:
        url = person.grid.robot_url if person.grid else None
        group = to_robot(url, f"gridworkers:{person.community_id}", event="pass_on", audience="gridworkers",
                         text=text)
        staff = staff_of_community(session, person.community_id) if person.community_id else []
    if group.channel == "robot" or not staff:
        notices = [group]
    else:  # no grid-worker group robot: each grid worker privately
        notices = [to_person(session, s, "pass_on", text, wish) for s in staff]
    for notice in notices:
        notice.fallback_for_id = refused.id
    return notices


def _who(person: Person, wish: Wish | None) -> str:
    if wish is None:
        return f"{person.name} "
    if person.id == wish.requester_id:
        return f"心愿 {wish.ref} 的许愿人 {person.masked_name}（电话可发「查询 {wish.id}」查看）"
    if any(c.member_id == person.id for c in wish.claims):
        return f"心愿 {wish.ref} 的认领人 {person.name} "
    return f"{person.name}（心愿 {wish.ref}）"
