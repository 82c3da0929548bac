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
    chat.dialog([("o-liu", "代许愿 张桂兰 13812345678 需要一个助听器",
                  "已为 张桂兰 登记心愿 #1，已发布到志愿者群。有消息会发给您转告。")])
    wish = stored_wish(app, 1)
    assert (wish.status, wish.content, wish.category) == ("published", "需要一个助听器", "医疗器械")
    assert wish.requester.openid is None and wish.requester.phone == "13812345678"
    assert wish.recorded_by.openid == "o-liu" and wish.requester.grid_id == wish.recorded_by.grid_id
    assert chat.group_pushes(VOLUNTEERS_KEY) == ["新心愿 #1（新城社区第一网格，张**）：需要一个助听器\n回复「认领 1」认领。"]

    chat.dialog([("o-li", "认领 1",
                  "认领成功！心愿 #1：需要一个助听器\n许愿人的联系方式已私信发给您。完成后回复「完成 1」。")])
    assert chat.private_notices("o-li") == [
        "您认领了心愿 #1：需要一个助听器\n许愿人：张桂兰，电话：13812345678\n完成后回复「完成 1」。"]
    relayed = ["【请转告 张桂兰，电话 13812345678】您的心愿 #1 已有人认领：李建国（市税务局），会尽快联系您。"]
    assert chat.private_notices("o-liu") == relayed

    chat.dialog([("o-li", "完成 1 已送到家", "谢谢您！心愿 #1 已报告完成，可以再发一张照片留作记录。")])
    assert chat.private_notices("o-liu") == relayed + [
        "【请转告 张桂兰，电话 13812345678】您的心愿 #1 已完成。收到了请回复「确认 1」，也可以加上您的评价。"]

    # The grid worker confirms for her, with her words and rating; recorded as a proxy confirmation.
    chat.dialog([("o-liu", "确认 1 老人说很好用 5分", "已代 张桂兰 确认心愿 #1。")])
    wish = stored_wish(app, 1)
    assert (wish.status, wish.feedback, wish.rating) == ("confirmed", "老人说很好用", 5)
    with session_of(app) as s:
        confirmed_by = s.get(Person, wish.confirmed_by_id)
        note = s.scalar(select(WishEvent.note).where(WishEvent.action == "confirm"))
    assert confirmed_by.openid == "o-liu" and note.startswith("网格员代确认")
    # Nobody is told the resident confirmed it herself.
    assert chat.private_notices("o-li")[-1] == "刘芳代许愿人已确认心愿 #1，谢谢您！"
    assert chat.group_pushes(VOLUNTEERS_KEY)[-1] == "心愿 #1 已圆梦，刘芳代许愿人已确认，感谢各位！"
    assert_no_secrets(chat.group_pushes(), "张桂兰", "13812345678")


def test_same_phone_is_the_same_resident(chat, app):
    chat.dialog([
        ("o-liu", "代许愿 张桂兰 13812345678 需要一个助听器", "已为 张桂兰 登记心愿 #1，已发布到志愿者群。有消息会发给您转告。"),
        ("o-liu", "代许愿 张桂兰 138-1234-5678 家里水龙头漏水",
         "已为 张桂兰 登记心愿 #2，已发布到志愿者群。有消息会发给您转告。"),
        ("o-liu", "代许愿 张兰 13812345678 需要一根拐杖", "手机号 13812345678 已登记为张桂兰，请核对姓名。"),
    ])
    with session_of(app) as s:
        assert s.scalar(select(func.count(Person.id)).where(Person.phone == "13812345678")) == 1
        assert s.scalar(select(func.count(Wish.id))) == 2
        assert s.get(Wish, 2).category == "房屋维修"


def test_who_may_record_and_bad_input(chat, app):
    chat.dialog([
        ("o-wang", "代许愿 张桂兰 13812345678 需要一个助听器", "「代许愿」不是您能用的命令。发「帮助」看看您能做什么。"),
        ("o-liu", "代许愿 张桂兰 1381234 需要一个助听器", "手机号格式不对：1381234"),
        ("o-liu", "代许愿 张桂兰 13812345678",
         "请这样写：代许愿 姓名 手机号 内容，比如：代许愿 张桂兰 13812345678 需要一个助听器"),
        # 周强 works in 东山社区; 王秀兰 lives in 新城社区's first grid.
        ("o-zhou", "代许愿 王秀兰 13800000001 需要一个助听器", "手机号 13800000001 的居民不在您负责的网格，请联系其所在网格的网格员代许愿。"),
    ])
    with session_of(app) as s:
        assert s.scalar(select(func.count(Wish.id))) == 0
        assert s.scalar(select(func.count(Person.id)).where(Person.phone == "13812345678")) == 0


def test_a_city_admin_records_for_a_resident_once_the_roster_places_them(chat, app):
    """An admin of no community cannot place a resident the system has never seen; the reply
    says how, and once the roster has them (with their grid) the same command records the wish."""
    from handlers import directory

    with session_of(app) as s:
        directory.add_person(s, "o-city", "admin", "市管理员")
        s.commit()
    chat.dialog([("o-city", "代许愿 张桂兰 13812345678 需要一个助听器",
                  "您没有所属社区，新居民无处登记。请让TA所在网格的网格员代许愿，"
                  "或先在管理台「花名册」导入这位居民，再代许愿。")])
    with session_of(app) as s:
        assert s.scalar(select(func.count(Person.id)).where(Person.phone == "13812345678")) == 0
        directory.add_person(s, None, "resident", "张桂兰", phone="13812345678", grid="新城社区/第一网格")
        s.commit()
    chat.dialog([("o-city", "代许愿 张桂兰 13812345678 需要一个助听器",
                  "已为 张桂兰 登记心愿 #1，已发布到志愿者群。有消息会发给您转告。")])
    wish = stored_wish(app, 1)
    assert wish.requester.name == "张桂兰" and wish.recorded_by.openid == "o-city"
    assert chat.group_pushes(VOLUNTEERS_KEY) == ["新心愿 #1（新城社区第一网格，张**）：需要一个助听器\n回复「认领 1」认领。"]
