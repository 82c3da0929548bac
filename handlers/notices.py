"""The notices each change sends, as outbox rows. Group texts never carry a requester's
phone number, address or full name."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Claim, Notice, Person, Wish


def _brief(wish: Wish, limit: int = 40) -> str:
    text = wish.content.replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _claimer_label(claim: Claim) -> str:
    unit = claim.member.unit.name if claim.member.unit else None
    return f"{claim.member.name}（{unit}）" if unit else claim.member.name


def _where(wish: Wish) -> str:
    return f"{wish.community.name}{wish.grid.name if wish.grid else ''}"


def to_group(wish: Wish, event: str, text: str) -> Notice:
    url = wish.community.robot_url
    return Notice(
        event=event, wish_id=wish.id, audience="group",
        channel="robot" if url else "log", target=url or f"group:{wish.community.name}", text=text,
    )


def to_gridworkers(wish: Wish, event: str, text: str) -> Notice:
    url = wish.grid.robot_url if wish.grid else None
    label = wish.grid.label if wish.grid else wish.community.name
    return Notice(
        event=event, wish_id=wish.id, audience="gridworkers",
        channel="robot" if url else "log", target=url or f"gridworkers:{label}", text=text,
    )


def to_person(session: Session, person: Person, event: str, text: str,
              wish: Wish | None = None) -> Notice:
    """A private notice. A resident without WeChat is told through the grid worker who
    recorded the wish for them (代许愿), who passes it on."""
    recipient, body = person, text
    if not person.openid and wish is not None and wish.recorded_by and wish.recorded_by.openid:
        recipient = wish.recorded_by
        body = f"【请转告 {person.name}】{text}"
    if recipient.openid:
        return Notice(event=event, wish_id=wish.id if wish else None, person_id=person.id,
                      audience="private", channel="official", target=recipient.openid, text=body)
    return Notice(event=event, wish_id=wish.id if wish else None, person_id=person.id,
                  audience="private", channel="log", target=f"person:{person.id}", text=body)


def gridworkers_of(session: Session, wish: Wish) -> list[Person]:
    query = select(Person).where(Person.roles.contains("gridworker"))
    if wish.grid_id:
        query = query.where(Person.grid_id == wish.grid_id)
    else:
        query = query.where(Person.community_id == wish.community_id)
    return list(session.scalars(query))


# --- one function per event ----------------------------------------------------------------


def wish_submitted(session: Session, wish: Wish) -> list[Notice]:
    return [to_gridworkers(
        wish, "submitted",
        f"待审核心愿 {wish.ref}（{_where(wish)}，{wish.requester.masked_name}）：{_brief(wish)}\n"
        f"回复「审核 {wish.id} 通过」或「审核 {wish.id} 驳回 原因」。",
    )]


def wish_published(session: Session, wish: Wish) -> list[Notice]:
    slots = f"，需要{wish.slots}人" if wish.slots > 1 else ""
    notices = [to_group(
        wish, "published",
        f"新心愿 {wish.ref}（{_where(wish)}，{wish.requester.masked_name}{slots}）：{_brief(wish, 80)}\n"
        f"回复「认领 {wish.id}」认领。",
    )]
    notices.append(to_person(session, wish.requester, "published",
                             f"您的心愿 {wish.ref} 已发布，有人认领会告诉您。", wish))
    return notices


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
    return [
        to_group(wish, "claimed", f"心愿 {wish.ref} 已由 {_claimer_label(claim)} 认领{remaining}。"),
        to_person(session, requester, "claimed",
                  f"您的心愿 {wish.ref} 已有人认领：{_claimer_label(claim)}，会尽快联系您。", wish),
        to_person(session, claim.member, "contact",
                  f"您认领了心愿 {wish.ref}：{_brief(wish, 80)}\n{contact}\n"
                  f"完成后回复「完成 {wish.id}」。", wish),
    ]


def claim_released(session: Session, wish: Wish, claim: Claim) -> list[Notice]:
    return [to_group(wish, "released", f"心愿 {wish.ref} 重新开放认领：{_brief(wish)}\n"
                                       f"回复「认领 {wish.id}」认领。")]


def claim_completed(session: Session, wish: Wish, claim: Claim) -> list[Notice]:
    notices = [to_group(wish, "completed", f"心愿 {wish.ref} 已由 {_claimer_label(claim)} 完成，谢谢！")]
    if wish.status == "completed":
        notices.append(to_person(
            session, wish.requester, "completed",
            f"您的心愿 {wish.ref} 已完成。收到了请回复「确认 {wish.id}」，也可以加上您的评价。", wish,
        ))
    return notices


def wish_confirmed(session: Session, wish: Wish) -> list[Notice]:
    notices = [to_group(wish, "confirmed", f"心愿 {wish.ref} 已圆梦，许愿人已确认，感谢各位！")]
    for claim in wish.claims:
        if claim.status == "completed":
            notices.append(to_person(session, claim.member, "confirmed",
                                     f"许愿人已确认心愿 {wish.ref}，谢谢您！", wish))
    return notices
