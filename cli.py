"""The `wishbot` command. Every command receives the process's Runtime as click's context
object: built from the environment here, or handed in (`CliRunner().invoke(main, args, obj=runtime)`)."""
from __future__ import annotations

import functools
import secrets
import sys

import click

from bot.settings import Settings
from composition.runtime import Runtime
from models import UserError


def directory_command(func):
    """Run in one transaction; a UserError exits non-zero with its one-line reason."""

    @functools.wraps(func)
    def wrapper(rt: Runtime, *args, **kwargs):
        try:
            with rt.db.transaction() as session:
                message = func(session, *args, **kwargs)
        except UserError as error:
            raise click.ClickException(error.reply)
        click.echo(message)

    return click.pass_obj(wrapper)


@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """微心愿助手 wishbot."""
    if ctx.obj is None:
        ctx.obj = Runtime(Settings.from_env())


@main.command("init-db")
@click.pass_obj
def init_db(rt: Runtime) -> None:
    """Create or upgrade the schema to the current version."""
    from bot.schema import upgrade

    upgrade(rt.settings.database_url)
    click.echo("database is up to date")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--threads", default=8, show_default=True, help="requests served at once")
@click.option("--timeout", default=30, show_default=True, help="seconds a client may stay silent mid-request")
@click.pass_obj
def serve(rt: Runtime, host: str, port: int, threads: int, timeout: int) -> None:
    """Serve webhooks, dashboard and API from the environment's configuration (waitress, one
    process: its jobs thread and clock deliver the notices when there is no Redis)."""
    from app import create_app
    from app import serve as serve_app

    app = create_app(runtime=rt)
    rt.start_in_process_clock()
    serve_app(app, host, port, threads=threads, timeout=timeout)


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
def demo(host: str, port: int) -> None:
    """The whole system on one machine: SQLite, in-process jobs, seeded data."""
    from app import create_app, serve
    from composition.demo import demo_settings, run_demo

    run_demo(create_app(demo_settings(host, port)), host, port, serve)


@main.command()
@click.option("--burst", is_flag=True, help="Exit when the queue is empty.")
@click.pass_obj
def worker(rt: Runtime, burst: bool) -> None:
    """The RQ worker (with its scheduler) on WISHBOT_REDIS_URL."""
    from worker import run_worker

    run_worker(rt.settings, burst=burst)


@main.command()
@click.pass_obj
def digest(rt: Runtime) -> None:
    """Send the grid workers' digests now (the worker's scheduler sends them daily)."""
    _report_delivery(rt, rt.send_digests(), "digests")


def _report_delivery(rt, ids: list[int], what: str) -> None:
    """With Redis the workers send them; without, this process does, and says how it went."""
    from sqlalchemy import select

    from models import Notice
    from models.messaging import NOTICE_SENT

    if rt.redis is not None:
        click.echo(f"{what} queued for the workers: {len(ids)}")
        return
    rt.jobs.join(timeout=60)
    rt.jobs.close()
    with rt.db.sessions() as session:
        unsent = session.scalars(select(Notice.id).where(Notice.id.in_(ids), Notice.status != NOTICE_SENT)).all()
    if unsent:
        raise click.ClickException(f"{len(ids) - len(unsent)} of {len(ids)} {what} sent; "
                                   "the rest stay in the outbox for the next `wishbot serve` or worker")
    click.echo(f"{what} sent: {len(ids)}")


@main.group()
def notices() -> None:
    """The outbox's notices."""


@notices.command("retry")
@click.option("--id", "notice_ids", type=int, multiple=True, help="only this notice (repeatable)")
@click.pass_obj
def notices_retry(rt: Runtime, notice_ids: tuple[int, ...]) -> None:
    """Send again the notices that failed for good (all, or the --id ones)."""
    from sqlalchemy import select

    from bot.delivery import reopen_failed
    from models import Notice

    query = select(Notice).where(Notice.id.in_(notice_ids)) if notice_ids else None
    with rt.db.sessions() as session:
        rows = reopen_failed(session, query)
        session.commit()
        if not rows:
            click.echo("no failed notices")
            return
        rt.after_commit(rows, [])
        ids = [row.id for row in rows]
    _report_delivery(rt, ids, "notices")


POSTER_LINES = {
    "resident": "微信扫一扫，关注后直接说出您的困难和心愿",
    "member": "在职党员扫一扫，到本社区报到、认领心愿",
}


@main.command()
@click.argument("where", metavar="COMMUNITY[/GRID]")
@click.option("--role", type=click.Choice(["resident", "member"]), default="resident", show_default=True,
              help="member: scanning starts 报到 (volunteer registration) in that community")
@click.option("--out", type=click.Path(dir_okay=False), help="the poster PNG  [default: qr-SCENE.png]")
@click.pass_obj
def qr(rt: Runtime, where: str, role: str, out: str | None) -> None:
    """A permanent QR code for a place (and role), written as a printable poster."""
    from pathlib import Path

    from handlers.arrival import place_named

    from bot.outbound.errors import DeliveryError
    from bot.poster import PosterError, render

    create = getattr(rt.outbound.official, "create_qrcode", None)
    if create is None:
        raise click.ClickException("WECHAT_APPID and WECHAT_SECRET must be set: the code comes from the Official Account")
    with rt.db.sessions() as session:
        try:
            place = place_named(session, where, role)
        except UserError as error:
            raise click.ClickException(error.reply)
        scene, title = place.scene, f"{place.label}「微心愿」"
    try:
        code = create(scene)
        png = render(code["url"], title, POSTER_LINES[role], font=rt.settings.poster_font)
    except DeliveryError as error:
        raise click.ClickException(f"WeChat did not create the QR code: {error}")
    except PosterError as error:
        raise click.ClickException(str(error))
    path = Path(out or f"qr-{scene.replace(':', '-').replace('/', '-')}.png")
    path.write_bytes(png)
    click.echo(f"scene {scene}\nposter {path}")


@main.command()
@click.argument("openid")
@click.argument("text")
@click.option("--url", default="http://127.0.0.1:5000/wechat", show_default=True)
@click.pass_obj
def say(rt: Runtime, openid: str, text: str, url: str) -> None:
    """Send TEXT as OPENID over the real Official Account protocol and print the reply."""
    import requests

    from bot.say import say_over_http

    try:
        reply = say_over_http(rt.settings, url, openid, text)
    except requests.ConnectionError:
        raise click.ClickException(f"cannot reach {url}: is `wishbot demo` or `wishbot serve` running there?")
    except requests.Timeout:
        raise click.ClickException(f"{url} did not answer in time")
    except requests.HTTPError as error:
        raise click.ClickException(f"{url} answered HTTP {error.response.status_code}"
                                   " (403: the token or AES key differs from the server's)")
    except Exception as error:  # a CLI user wants the reason, not a traceback
        raise click.ClickException(str(error))
    click.echo(reply if reply is not None else "（没有回复）")


@main.group()
def menu() -> None:
    """The Official Account's menus."""


@menu.command("push")
@click.pass_obj
def menu_push(rt: Runtime) -> None:
    """Create the default menu and one personalised menu per role tag (居民, 志愿者, 网格员),
    and tag everyone by role. Clients show a new menu within about five minutes."""
    from composition.menus import push_menus
    from bot.outbound.errors import DeliveryError
    from bot.outbound.official import OfficialAccountAPI

    api = rt.outbound.official
    if not isinstance(api, OfficialAccountAPI):
        raise click.ClickException("WECHAT_APPID and WECHAT_SECRET are not set: there is no Official Account to push to")
    try:
        with rt.db.sessions() as session:
            counts = push_menus(api, session)
    except DeliveryError as error:
        raise click.ClickException(f"WeChat refused: {error}")
    click.echo("menus pushed; tagged " + ", ".join(f"{name} {count}" for name, count in counts.items()))


# --- the directory --------------------------------------------------------------------


@main.group()
def community() -> None:
    """Communities (社区)."""


@community.command("add")
@click.argument("name")
@click.option("--street", help="街道")
@click.option("--robot-url", help="the volunteers' group-robot webhook")
@click.option("--no-review", is_flag=True, help="publish residents' wishes without review")
@directory_command
def community_add(session, name, street, robot_url, no_review):
    from handlers.directory import add_community

    row = add_community(session, name, street, robot_url, review_required=not no_review)
    return f"community {row.name} added"


@main.group()
def grid() -> None:
    """Grids (网格)."""


@grid.command("add")
@click.argument("community")
@click.argument("name")
@click.option("--robot-url", help="the grid workers' group-robot webhook")
@directory_command
def grid_add(session, community, name, robot_url):
    from handlers.directory import add_grid

    row = add_grid(session, community, name, robot_url)
    return f"grid {row.label} added"


@main.group()
def unit() -> None:
    """Partner organisations (共建单位)."""


@unit.command("add")
@click.argument("name")
@directory_command
def unit_add(session, name):
    from handlers.directory import add_unit

    return f"unit {add_unit(session, name).name} added"


@main.group()
def person() -> None:
    """People."""


@person.command("add")
@click.argument("openid", required=False)
@click.option("--wecom-userid", help="their WeCom (企业微信) UserID, a second identity")
@click.option("--role", required=True, type=click.Choice(["resident", "member", "gridworker", "admin"]))
@click.option("--name", required=True)
@click.option("--phone")
@click.option("--address")
@click.option("--community")
@click.option("--grid", help="COMMUNITY/GRID")
@click.option("--unit")
@directory_command
def person_add(session, openid, wecom_userid, role, name, phone, address, community, grid, unit):
    """A person known by their Official Account OPENID, their --wecom-userid, or both."""
    from handlers.directory import add_person

    row = add_person(session, openid, role, name, phone=phone, community=community, grid=grid,
                     unit=unit, address=address, wecom_userid=wecom_userid)
    return f"person {row.name} ({row.roles}) added{_identities(row)}"


@person.command("identity")
@click.argument("who")
@click.option("--openid", help="their Official Account OpenID")
@click.option("--wecom-userid", help="their WeCom (企业微信) UserID")
@directory_command
def person_identity(session, who, openid, wecom_userid):
    """Set the identities of the person known by WHO (an OpenID or a WeCom UserID)."""
    from handlers.directory import known_person, set_identities
    from models import BadInput

    row = known_person(session, who, None) or known_person(session, None, who)
    if row is None:
        raise BadInput(f"没有这个人：{who}")
    set_identities(session, row, openid, wecom_userid)
    return f"person {row.name}{_identities(row)}"


def _identities(row) -> str:
    shown = [f"openid {row.openid}" if row.openid else "", f"wecom {row.wecom_userid}" if row.wecom_userid else ""]
    return ": " + ", ".join(filter(None, shown)) if any(shown) else ""


@main.group()
def token() -> None:
    """Bearer tokens for the JSON API."""


@token.command("create")
@click.argument("name")
@click.option("--community", help="only this community's wishes")
@click.option("--grid", help="COMMUNITY/GRID: only this grid's wishes")
@click.option("--contacts", is_flag=True, help="include requesters' contact details")
@directory_command
def token_create(session, name, community, grid, contacts):
    """Print a new bearer token: everything, or one community or grid; contact fields only with --contacts."""
    from sqlalchemy import select

    from handlers.directory import find_community, find_grid
    from models import ApiToken, BadInput
    from web.api import hash_token

    if community and grid:
        raise BadInput("--community 和 --grid 只能写一个")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)):
        raise BadInput(f"token 已存在：{name}")
    grid_row = find_grid(session, grid) if grid else None
    community_row = find_community(session, community) if community else (grid_row.community if grid_row else None)
    value = secrets.token_urlsafe(32)
    session.add(ApiToken(name=name, token_hash=hash_token(value), community=community_row, grid=grid_row,
                         contacts=contacts))
    return value


@main.command()
@click.option("--days", type=click.IntRange(min=1), help="keep this many days (default WISHBOT_RETENTION_DAYS)")
@click.pass_obj
def purge(rt: Runtime, days: int | None) -> None:
    """Remove processed-message records (they hold replies with contact details) past retention."""
    from bot.retention import purge_processed

    days = days or rt.settings.retention_days
    removed = purge_processed(rt.db, days)
    click.echo(f"removed {removed} processed-message records older than {days} days")


@main.group()
def staff() -> None:
    """Dashboard logins."""


@staff.command("add")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "community", "gridworker"]))
@click.option("--community")
@click.option("--grid", help="COMMUNITY/GRID")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--openid", help="act as this known person (else a new person is created)")
@click.option("--name", help="the new person's name (default: USERNAME)")
@directory_command
def staff_add(session, username, role, community, grid, password, openid, name):
    from web.auth import add_staff

    row = add_staff(session, username, role, password, community=community, grid=grid, openid=openid, name=name)
    return f"staff {row.username} ({row.role}) added"


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@directory_command
def import_file(session, file):
    """People in bulk from .csv or .xlsx (all or nothing)."""
    from pathlib import Path

    from handlers.roster import import_people, read_rows

    path = Path(file)
    people = import_people(session, read_rows(path.name, path.read_bytes()))
    return f"imported {len(people)} rows"


@main.group()
def report() -> None:
    """Reports for the communities and partner units."""


@report.command("service-card")
@click.option("--quarter", required=True, help="e.g. 2026Q4")
@click.option("--unit", help="only this partner unit's members")
@click.option("--community", help="only services in this community")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="FILE.xlsx (one sheet per member) or FILE.html (printable, A4)")
def report_service_card(quarter, unit, community, out) -> None:
    """The quarterly 双报到 service cards, with a summary per partner unit."""
    from pathlib import Path

    from sqlalchemy import select

    from app import create_app
    from handlers.service_records import Span, service_cards, unit_summaries
    from models import Community, Unit
    from web.service_card import cards_page, cards_workbook

    if not out.endswith((".xlsx", ".html")):
        raise click.ClickException("--out must name a .xlsx or .html file")
    try:
        span = Span.quarter(quarter)
    except UserError as error:
        raise click.ClickException(error.reply)
    app = create_app()
    runtime = app.extensions["wishbot"]
    per_hour = runtime.settings.points_per_hour
    with runtime.db.sessions() as session:
        if unit and session.scalar(select(Unit.id).where(Unit.name == unit)) is None:
            raise click.ClickException(f"unknown unit: {unit}")
        if community and session.scalar(select(Community.id).where(Community.name == community)) is None:
            raise click.ClickException(f"unknown community: {community}")
        cards = service_cards(session, span, unit=unit, community=community)
        summaries = unit_summaries(cards)
        if out.endswith(".xlsx"):
            body = cards_workbook(cards, summaries, span, per_hour)
        else:
            with app.test_request_context():
                body = cards_page(summaries, span, per_hour, standalone=True).encode()
    runtime.db.dispose()
    Path(out).write_bytes(body)
    click.echo(f"{span.label}: {len(cards)} cards, {len(summaries)} units -> {out}")


if __name__ == "__main__":
    sys.exit(main())
