"""代许愿: a grid worker records a wish for a resident without WeChat and relays their notices."""
from __future__ import annotations

from sqlalchemy import func, select

from models import Person, Wish, WishEvent

from .world import VOLUNTEERS_KEY, assert_no_secrets, session_of


def stored_wish(app, number: int) -> Wish:
    with session_of(app) as s:
        wish = s.get(Wish, number)
        wish.requester, wish.recorded_by, wish.claims
        return wish


def test_recorded_wish_is_published_and_notices_go_to_the_grid_worker(chat, app):
    reply = chat.say("o-liu", "代许愿 张桂兰 13812345678 需要一个助听器")
    assert "#1" in reply and "张桂兰" in reply
    wish = stored_wish(app, 1)
    assert (wish.status, wish.content, wish.category) == ("published", "需要一个助听器", "医疗器械")
    assert wish.requester.openid is None and wish.requester.phone == "13812345678"
    assert wish.recorded_by.openid == "o-liu" and wish.requester.grid_id == wish.recorded_by.grid_id
    published = [t for t in chat.group_pushes(VOLUNTEERS_KEY) if "#1" in t]
    assert published and "张**" in published[0]

    chat.say("o-li", "认领 1")
    assert any("13812345678" in t and "张桂兰" in t for t in chat.private_notices("o-li"))
    relayed = chat.private_notices("o-liu")
    assert any("请转告 张桂兰" in t and "#1" in t and "已有人认领" in t for t in relayed)

    chat.say("o-li", "完成 1 已送到家")
    assert any("请转告 张桂兰" in t and "确认 1" in t for t in chat.private_notices("o-liu"))

    # The grid worker confirms for her, with her words and rating; recorded as a proxy confirmation.
    reply = chat.say("o-liu", "确认 1 老人说很好用 5分")
    assert "#1" in reply and "张桂兰" in reply
    wish = stored_wish(app, 1)
    assert (wish.status, wish.feedback, wish.rating) == ("confirmed", "老人说很好用", 5)
    with session_of(app) as s:
        confirmed_by = s.get(Person, wish.confirmed_by_id)
        note = s.scalar(select(WishEvent.note).where(WishEvent.action == "confirm"))
    assert confirmed_by.openid == "o-liu" and note.startswith("网格员代确认")
    assert_no_secrets(chat.group_pushes(), "张桂兰", "13812345678")


def test_same_phone_is_the_same_resident(chat, app):
    chat.say("o-liu", "代许愿 张桂兰 13812345678 需要一个助听器")
    assert "#2" in chat.say("o-liu", "代许愿 张桂兰 138-1234-5678 家里水龙头漏水")
    assert "已登记为张桂兰" in chat.say("o-liu", "代许愿 张兰 13812345678 需要一根拐杖")
    with session_of(app) as s:
        assert s.scalar(select(func.count(Person.id)).where(Person.phone == "13812345678")) == 1
        assert s.scalar(select(func.count(Wish.id))) == 2
        assert s.get(Wish, 2).category == "房屋维修"


def test_who_may_record_and_bad_input(chat, app):
    refusal = chat.say("o-wang", "代许愿 张桂兰 13812345678 需要一个助听器")
    assert "不是您能用的命令" in refusal and "\n" not in refusal
    assert "手机号格式不对" in chat.say("o-liu", "代许愿 张桂兰 1381234 需要一个助听器")
    assert "代许愿 姓名 手机号 内容" in chat.say("o-liu", "代许愿 张桂兰 13812345678")
    # 周强 works in 东山社区; 王秀兰 lives in 新城社区's first grid.
    assert "不在您负责的网格" in chat.say("o-zhou", "代许愿 王秀兰 13800000001 需要一个助听器")
    with session_of(app) as s:
        assert s.scalar(select(func.count(Wish.id))) == 0
        assert s.scalar(select(func.count(Person.id)).where(Person.phone == "13812345678")) == 0
