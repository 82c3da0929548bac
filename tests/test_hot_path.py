"""The webhook's hot path: read-only commands answer from committed data without the write lock
and without recording the delivery; listings cost the same few queries however long they are."""
from __future__ import annotations

import itertools
import threading

import pytest
from sqlalchemy import event, func, select, text, update

from bot.db import ReadOnlyViolation
from models import Person, ProcessedMessage, Unit, Wish

from .conftest import wait_for


def count(app, model) -> int:
    with app.extensions["wishbot"].db.sessions() as s:
        return s.scalar(select(func.count()).select_from(model))


_WISHES = itertools.count()  # every wish's words new: the same words again within a day are one wish


def publish(chat, how_many: int, slots: int = 1) -> list[int]:
    numbers = []
    for _ in range(how_many):
        reply = chat.say("o-wang", f"许愿 需要一副老花镜 {next(_WISHES)}")
        number = int(reply.split("#")[1].split("，")[0])
        people = f" {slots}人" if slots > 1 else ""
        assert chat.say("o-liu", f"审核 {number} 通过{people}").startswith(f"心愿 #{number}")
        numbers.append(number)
    return numbers


class WriteLock:
    """Another process in the middle of a write: SQLite's one write lock, or on PostgreSQL locks
    that let plain reads through and block any write to the tables a message touches."""

    def __init__(self, db):
        self.connection = db.engine.connect()
        self.connection.begin()  # on SQLite, BEGIN IMMEDIATE (bot/db.py): the write lock
        if not db.is_sqlite:
            self.connection.execute(text("LOCK TABLE processed_message, person, wish, claim IN EXCLUSIVE MODE"))

    def release(self):
        self.connection.rollback()
        self.connection.close()


def answered_within(seconds: float, say) -> str | None:
    replies = []
    thread = threading.Thread(target=lambda: replies.append(say()), daemon=True)
    thread.start()
    thread.join(seconds)
    return replies[0] if replies else None


def test_read_only_commands_answer_while_another_process_holds_the_write_lock(chat, app):
    [number] = publish(chat, 1)
    lock = WriteLock(app.extensions["wishbot"].db)
    try:
        assert answered_within(5, lambda: chat.say("o-li", "心愿列表")).startswith("待认领的心愿：\n#")
        assert answered_within(5, lambda: chat.say("o-li", f"查询 {number}")).startswith(f"心愿 #{number}（待认领）")
        assert answered_within(5, lambda: chat.say("o-wang", "我的心愿")).startswith("您的心愿：")
        assert answered_within(5, lambda: chat.say("o-li", "帮助")).startswith("您可以发：")
        # A command that changes data waits for the lock, as it must.
        assert answered_within(1, lambda: chat.say("o-chen", f"认领 {number}")) is None
    finally:
        lock.release()


def window_sends(app, openid: str) -> int:
    with app.extensions["wishbot"].db.reads() as session:
        return session.scalar(select(Person.window_sends).where(Person.openid == openid))


def forget_window(app, openid: str) -> None:
    with app.extensions["wishbot"].db.transaction() as session:
        session.execute(update(Person).where(Person.openid == openid).values(window_until=None, window_sends=0))


def test_a_read_only_message_notes_its_senders_window_at_once_on_postgresql(chat, app):
    chat.say("o-li", "帮助")
    chat.settle()
    forget_window(app, "o-li")
    assert chat.say("o-li", "帮助").startswith("您可以发：")
    if not app.extensions["wishbot"].db.is_sqlite:
        assert window_sends(app, "o-li") == 5  # before any job ran
    chat.settle()
    wait_for(lambda: window_sends(app, "o-li") == 5)


def test_a_read_only_answer_does_not_wait_for_its_senders_row_and_the_window_is_noted_later(chat, app):
    chat.say("o-li", "帮助")
    chat.settle()
    forget_window(app, "o-li")
    db = app.extensions["wishbot"].db
    holder = db.engine.connect()
    holder.begin()  # on SQLite, the write lock
    holder.execute(select(Person.id).where(Person.openid == "o-li").with_for_update())
    try:
        assert answered_within(2, lambda: chat.say("o-li", "帮助")).startswith("您可以发：")
        assert window_sends(app, "o-li") == 0
    finally:
        holder.rollback()
        holder.close()
    chat.settle()
    wait_for(lambda: window_sends(app, "o-li") == 5)  # by the job the answer left it to


def test_a_read_only_command_records_nothing_and_its_retry_reads_again(chat, app):
    publish(chat, 1)
    recorded = count(app, ProcessedMessage)
    first = chat.say("o-li", "心愿列表", msg_id=4242)
    assert chat.say("o-li", "心愿列表", msg_id=4242) == first
    assert count(app, ProcessedMessage) == recorded
    assert chat.say("o-li", "我想认领") is not None  # not a command: the write path, recorded
    assert count(app, ProcessedMessage) == recorded + 1


def test_a_newcomers_first_read_is_answered_and_adds_them(chat, app):
    assert chat.say("o-stranger", "我的心愿") == "您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。"
    assert chat.say("o-stranger", "我的心愿") == "您还没有心愿。有困难直接告诉我您需要什么，比如：需要一副老花镜。"
    assert count(app, ProcessedMessage) == 1  # the first one, which added the sender


def test_the_read_session_refuses_to_write(app):
    db = app.extensions["wishbot"].db
    units = count(app, Unit)
    with db.reads() as session:
        session.add(Unit(name="不该写入的单位"))
        with pytest.raises(ReadOnlyViolation):
            session.flush()
    assert count(app, Unit) == units


def executed(app, say) -> list[str]:
    """The SQL that `say` sent from this thread."""
    seen = []
    engines = app.extensions["wishbot"].db.engines  # reads have their own on PostgreSQL
    here = threading.current_thread()  # the test client answers in this thread; jobs run in others

    def listener(*args):
        if threading.current_thread() is here:
            seen.append(args[2])

    for engine in engines:
        event.listen(engine, "before_cursor_execute", listener)
    try:
        say()
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", listener)
    return seen


def statements(app, say) -> int:
    return len(executed(app, say))


@pytest.mark.parametrize("command", ["心愿列表", "我的认领", "查询"])
def test_answers_cost_the_same_queries_for_one_wish_or_many(chat, app, command):
    _listed, shared = publish(chat, 2, slots=3)
    chat.say("o-li", f"认领 {shared}")
    ask = lambda: chat.say("o-li", f"查询 {shared}" if command == "查询" else command)  # noqa: E731
    ask()
    few = statements(app, ask)
    for number in publish(chat, 8)[:4]:
        assert chat.say("o-li", f"认领 {number}").startswith("认领成功")
    assert chat.say("o-chen", f"认领 {shared}").startswith("认领成功")
    app.extensions["wishbot"].jobs.join()  # the claims' notices are sent (they hold o-li's row meanwhile)
    ask()  # those notices used sends of o-li's window: this read notes it again (at once on PostgreSQL)
    assert statements(app, ask) == few <= (2 if command != "查询" else 3)  # the sender, then the answer


def test_a_list_and_its_total_come_in_one_statement_page_by_page(chat, app):
    publish(chat, 12)
    first = chat.say("o-li", "心愿列表")
    assert first.startswith("待认领的心愿：\n#") and first.count("\n#") == 10
    assert "还有2条，发「心愿列表 2」看下一页。" in first
    assert statements(app, lambda: chat.say("o-li", "心愿列表 2")) == 2
    second = chat.say("o-li", "心愿列表 2")
    assert second.count("\n#") == 2 and "还有" not in second
    assert set(second.split("\n")[1:3]).isdisjoint(first.split("\n"))
    assert chat.say("o-li", "心愿列表 3") == "没有第3页了，一共2页。发「心愿列表」看第1页。"
    assert chat.say("o-wang", "我的心愿 2").count("\n#") == 2  # o-wang asked for all twelve


def test_the_webhook_runs_without_the_dashboard_machinery(chat, app, client):
    """WeChat's requests carry no cookies: no session, CSRF, login or throttle hook runs for them."""
    hooks = []
    app.before_request(lambda: hooks.append("dashboard hook"))  # before the app's first request
    assert chat.say("o-li", "帮助").startswith("您可以发：")
    assert hooks == []
    response = client.get("/admin/login")
    assert response.status_code == 200 and hooks == ["dashboard hook"]


def test_once_warmed_up_the_loaded_objects_are_out_of_the_full_garbage_collections(settings):
    """jieba's dictionary and the mappers are ~275k long-lived objects: a full collection over
    them stalls whichever request triggers it for ~160 ms, so the app freezes them once loaded."""
    import gc

    from app import create_app

    gc.unfreeze()
    app = create_app(settings)
    try:
        assert wait_for(lambda: gc.get_freeze_count() > 100_000, timeout=60)
    finally:
        app.extensions["wishbot"].db.dispose()


def kept_backends(db) -> set[int]:
    """The server processes behind the connections the chat's reads keep (PostgreSQL)."""
    return {connection.connection.dbapi_connection.info.backend_pid for connection in db._kept._all}


def terminate(db, pids: set[int]) -> None:
    with db.engine.connect() as connection:
        for pid in pids:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    wait_for(lambda: not _alive(db, pids))


def _alive(db, pids: set[int]) -> bool:
    with db.engine.connect() as connection:
        return bool(connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(:pids)"),
                                       {"pids": list(pids)}).scalar())


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_kept_read_connection_that_sat_idle_is_checked_and_replaced_when_the_server_lost_it(chat, app, monkeypatch):
    db = app.extensions["wishbot"].db
    assert chat.say("o-li", "我的认领").startswith("您还没有认领心愿")
    before = kept_backends(db)
    assert before
    terminate(db, before)  # a database restart, as the kept connection sees it
    monkeypatch.setattr("bot.db.IDLE_BEFORE_PING", 0)  # it has sat unused long enough to be checked
    assert chat.say("o-li", "我的认领").startswith("您还没有认领心愿")  # answered, not 系统繁忙
    assert kept_backends(db).isdisjoint(before)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_kept_read_connection_lost_while_busy_costs_one_answer_and_is_replaced(chat, app):
    db = app.extensions["wishbot"].db
    assert chat.say("o-li", "我的认领").startswith("您还没有认领心愿")
    before = kept_backends(db)
    terminate(db, before)
    first = chat.say("o-li", "我的认领")  # used at once, it is not checked first: this one may fail
    assert first.startswith("您还没有认领心愿") or first == "系统繁忙，请稍后再试。"
    assert chat.say("o-li", "我的认领").startswith("您还没有认领心愿")
    assert kept_backends(db).isdisjoint(before)


def test_the_kept_read_connections_of_every_thread_close_with_the_database(chat, app):
    db = app.extensions["wishbot"].db
    threads = [threading.Thread(target=lambda: chat.say("o-li", "帮助")) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    chat.say("o-li", "帮助")
    kept = list(db._kept._all)
    assert len(kept) == 4  # one per thread that answered a read
    db.dispose()
    assert all(connection.closed for connection in kept)


def test_chat_reads_see_an_in_memory_database_written_in_the_same_thread():
    from bot.db import Database
    from models.base import Base

    db = Database("sqlite://")
    try:
        Base.metadata.create_all(db.engine)
        with db.transaction() as session:
            session.add(Unit(name="共建单位甲"))
        with db.chat_reads() as session:
            assert session.scalars(select(Unit.name)).all() == ["共建单位甲"]
    finally:
        db.dispose()


def test_a_thread_that_ends_closes_its_kept_read_connection(chat, app):
    import gc

    db = app.extensions["wishbot"].db
    thread = threading.Thread(target=lambda: chat.say("o-li", "帮助"))
    thread.start()
    thread.join()
    [kept] = db._kept._all
    del thread
    gc.collect()
    assert kept.closed and db._kept._all == []


def test_the_open_list_writes_its_partial_indexs_condition_into_the_statement(chat, app):
    """Bound, `status = ?` makes SQLite re-plan the statement on every run."""
    from models.wish import status_literal

    publish(chat, 1)
    replies = []
    seen = executed(app, lambda: replies.append(chat.say("o-li", "心愿列表")))
    assert replies[0].startswith("待认领的心愿：\n#")
    [page] = [statement for statement in seen if "ORDER BY wish.urgency DESC" in statement]
    assert "wish.status = 'published'" in page
    with pytest.raises(ValueError):
        status_literal("published' OR '1'='1")


def person_updates(app, say) -> list[str]:
    return [sql for sql in executed(app, say) if sql.startswith("UPDATE person")]


def test_a_message_that_writes_updates_its_senders_row_only_when_the_window_needs_it(chat, app):
    chat.say("o-wang", "许愿 需要一副老花镜")  # the first message opens the window
    assert person_updates(app, lambda: chat.say("o-wang", "许愿 想请人修水龙头")) == []
    db = app.extensions["wishbot"].db
    with db.transaction() as session:  # sends used, as notices to them do: the next message restores them
        session.execute(update(Person).where(Person.openid == "o-wang").values(window_sends=1))
    assert len(person_updates(app, lambda: chat.say("o-wang", "许愿 想请人理发"))) == 1
    with db.sessions() as session:
        assert session.scalar(select(Person.window_sends).where(Person.openid == "o-wang")) == 5
    assert person_updates(app, lambda: chat.say("o-wang", "许愿 需要轮椅")) == []


def test_a_hearing_noted_late_never_takes_back_a_later_window_or_its_used_sends(chat, app):
    from datetime import timezone

    from bot.jobs import NOTE_HEARD

    chat.say("o-li", "帮助")
    chat.settle()
    db = app.extensions["wishbot"].db
    with db.transaction() as session:  # notices used two of the sends
        session.execute(update(Person).where(Person.openid == "o-li").values(window_sends=3))
    with db.sessions() as session:
        person_id, until = session.execute(
            select(Person.id, Person.window_until).where(Person.openid == "o-li")).one()
    on_record = (until if until.tzinfo else until.replace(tzinfo=timezone.utc)).timestamp()  # SQLite: naive UTC
    an_hour_before = int(on_record) - 49 * 3600  # a read an hour before the message on record
    app.extensions["wishbot"].perform(NOTE_HEARD, f"{person_id}:wechat:1::{an_hour_before}")
    with db.sessions() as session:
        assert session.execute(select(Person.window_until, Person.window_sends)
                               .where(Person.id == person_id)).one() == (until, 3)
