"""Command line: `flask --app run school ...` (init, demo)."""
import datetime as dt
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_migrate import upgrade
from sqlalchemy import inspect

from app.extensions import db

school_cli = AppGroup("school", help="School setup: migrate, roles, demo data.")


def fail(message: str) -> None:
    """Print a clear message to stderr and exit non-zero."""
    click.echo(f"Ошибка: {message}", err=True)
    sys.exit(2)


def ensure_admin(username: str, password: str) -> bool:
    """Create the deployment admin if missing; returns whether one was created."""
    sm = current_app.appbuilder.sm
    if sm.find_user(username=username):
        return False
    user = sm.add_user(username, "Администратор", "Системы", f"{username}@school.local",
                       sm.find_role("Admin"), password=password)
    if not user:
        fail(f"не удалось создать пользователя {username}")
    return True


def production() -> bool:
    return current_app.config.get("ENV_NAME") == "production"


def admin_exists(username: str) -> bool:
    """Whether the deployment admin is already there (False on a database not yet migrated); no
    transaction stays open for the migrations to wait on."""
    try:
        return inspect(db.engine).has_table("ab_user") and \
            current_app.appbuilder.sm.find_user(username=username) is not None
    finally:
        db.session.rollback()


def new_admin_password(username: str, given: str | None) -> str:
    """The password of a new admin: the demo's by default; in production a given one that the password
    policy accepts (checked before anything is written)."""
    from app.security.passwords import policy_problem

    if not production():
        return given or current_app.config["DEMO_PASSWORD"]
    if not given:
        fail("в рабочей конфигурации задайте пароль администратора: --password")
    problem = policy_problem(given, username)
    if problem:
        fail(problem)
    return given


@school_cli.command("init")
@click.option("--admin", "admin_name", default="admin", show_default=True, help="Admin login.")
@click.option("--password", default=None,
              help="Admin password (default: DEMO_PASSWORD; required and checked by the policy in production).")
def init_command(admin_name: str, password: str | None) -> None:
    """Migrate the database, sync roles and permissions, create the admin. Idempotent."""
    from app.security.sync import sync_roles
    from app.views import menu_resources

    if not admin_exists(admin_name):
        password = new_admin_password(admin_name, password)
    upgrade()
    counts = sync_roles(menu_resources())
    created = ensure_admin(admin_name, password)
    db.session.commit()
    click.echo("База данных обновлена; роли: " + ", ".join(f"{r} ({n})" for r, n in counts.items()))
    click.echo(f"Администратор {admin_name}: {'создан' if created else 'уже есть'}")


def parse_day(_ctx, _param, value: str | None) -> dt.date | None:
    """Click callback: YYYY-MM-DD, with a clear error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"дата должна быть в виде ГГГГ-ММ-ДД, получено «{value}»") from None


@school_cli.command("demo")
@click.option("--size", type=click.Choice(["small", "school"]), default="small", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--today", callback=parse_day, default=None, help="The demo's today, YYYY-MM-DD.")
def demo_command(size: str, seed: int, today: dt.date | None) -> None:
    """Load a deterministic demo school and print its logins (never in production: its passwords are known)."""
    import time

    from app.services.demo import DemoAlreadyLoaded, load_demo

    if production():
        fail("демонстрационные данные не загружаются в рабочей конфигурации: их пароли известны всем")
    started = time.perf_counter()
    try:
        result = load_demo(size=size, seed=seed, today=today or dt.date.today(),
                           password=current_app.config["DEMO_PASSWORD"])
    except DemoAlreadyLoaded as err:
        click.echo(str(err))
        return
    except ValueError as err:
        db.session.rollback()
        fail(str(err))
    click.echo(result.summary())
    click.echo(f"Загружено за {time.perf_counter() - started:.1f} с")


@school_cli.command("lessons")
@click.option("--from", "start", callback=parse_day, required=True, help="First day, YYYY-MM-DD.")
@click.option("--to", "end", callback=parse_day, required=True, help="Last day, YYYY-MM-DD.")
@click.option("--school", "school_name", default=None, help="Short name of the school (default: every school).")
def lessons_command(start: dt.date, end: dt.date, school_name: str | None) -> None:
    """Create the lessons of the timetable for a span of days; never duplicates."""
    from sqlalchemy import select

    from app.models import School
    from app.services.errors import RuleViolation
    from app.services.lessons import generate_lessons

    query = select(School).order_by(School.short_name)
    if school_name:
        query = query.where(School.short_name == school_name)
    schools = db.session.scalars(query).all()
    if not schools:
        fail(f"школа «{school_name}» не найдена" if school_name else "в базе нет ни одной школы")
    try:
        for school in schools:
            count = generate_lessons(school, start, end)
            click.echo(f"{school.short_name}: создано уроков {count}")
    except RuleViolation as err:
        db.session.rollback()
        fail(err.message)
    db.session.commit()


@school_cli.command("import")
@click.argument("file", metavar="FILE")
@click.option("--dry-run", is_flag=True, help="Check every row and count what would change; save nothing.")
@click.option("--school", "school_name", default=None, help="Short name of the school (default: the only one).")
@click.option("--year", "year_name", default=None, help="Academic year, e.g. 2026/2027 (default: the current one).")
@click.option("--user", "username", default=None, help="Login the changes are attributed to (default: import).")
def import_command(file: str, dry_run: bool, school_name: str | None, year_name: str | None,
                   username: str | None) -> None:
    """Import a roster (CSV or XLSX): students, legal representatives, contacts, consent decisions.

    All or nothing: a bad row is reported as «строка N: причина» and nothing is saved (exit 1).
    Re-importing the same file changes nothing. Exit 2: no file, unknown format, unknown school/year.
    """
    from flask_appbuilder.security.sqla.models import User
    from sqlalchemy import select

    from app.services import roster
    from app.services.errors import RuleViolation

    try:
        rows = roster.parse(file)
        school = roster.find_school(school_name)
        year = roster.find_year(school, year_name)
    except (RuleViolation, roster.RosterFormatError) as err:
        fail(err.message)
    if not rows:
        fail(f"в файле {file} нет строк с обучающимися (только заголовок)")
    actor, actor_id = "import", None
    if username:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            fail(f"пользователь «{username}» не найден")
        actor, actor_id = user.username, user.id
    result = roster.run_import(rows, school, year, actor, actor_id, dry_run=dry_run)
    if result.problems:
        for problem in result.problems:
            click.echo(f"строка {problem.line}: {problem.reason}", err=True)
        bad = len({p.line for p in result.problems})
        click.echo(f"Ошибок: {len(result.problems)} в строках: {bad} из {len(rows)}. Ничего не сохранено.", err=True)
        sys.exit(1)
    where = f"{school.short_name}, {year.name}"
    click.echo(f"Проверка без сохранения ({where}): ошибок нет, ничего не сохранено. При импорте:" if dry_run
               else f"Импорт выполнен ({where}):")
    for key in roster.COUNT_KEYS:
        click.echo(f"  {roster.COUNT_LABELS[key]}: {result.counts[key]}")


audit_cli = AppGroup("audit", help="The audit trail.")


@audit_cli.command("verify")
@click.option("--anchor", "anchor_file", default=None, metavar="FILE",
              help="Anchors written by `audit anchor`: rows removed from the end since are found too.")
def audit_verify_command(anchor_file: str | None) -> None:
    """Check the keyed hash chain of the audit trail (and the anchors); exit 1 at the first edited,
    deleted or moved row, 2 on an unreadable anchor file."""
    from app.services.audit import verify_chain
    from app.services.audit_anchor import AnchorFileError, read_anchors

    try:
        anchors = read_anchors(anchor_file) if anchor_file else None
    except AnchorFileError as err:
        fail(err.message)
    checked, problem = verify_chain(anchors=anchors)
    if problem:
        click.echo(f"Журнал аудита нарушен: {problem} (проверено записей до неё: {checked})", err=True)
        sys.exit(1)
    suffix = f"; привязок сверено: {len(anchors)}" if anchors is not None else ""
    click.echo(f"Журнал аудита цел: проверено записей {checked}{suffix}")


@audit_cli.command("anchor")
@click.option("--file", "anchor_file", default=None, metavar="FILE",
              help="File the anchor is appended to (default: AUDIT_ANCHOR_FILE). Keep it off the database server.")
def audit_anchor_command(anchor_file: str | None) -> None:
    """Record the chain's head (row count, last row, hash, time) outside the database: one JSON line
    appended to FILE and the log. Refuses (exit 1) to anchor a broken chain."""
    import json

    from app.services.audit import verify_chain
    from app.services.audit_anchor import AnchorFileError, append_anchor, chain_head

    checked, problem = verify_chain()
    if problem:
        click.echo(f"Журнал аудита нарушен: {problem} (проверено записей до неё: {checked}); "
                   "привязка не записана", err=True)
        sys.exit(1)
    anchor = chain_head()
    db.session.rollback()
    path = anchor_file or current_app.config["AUDIT_ANCHOR_FILE"]
    try:
        append_anchor(anchor, path)
    except AnchorFileError as err:
        fail(err.message)
    click.echo(json.dumps(anchor, ensure_ascii=False))
    click.echo(f"Привязка журнала аудита дописана в {path}: записей {anchor['count']}")


@audit_cli.command("rekey")
def audit_rekey_command() -> None:
    """Once, after upgrading to the keyed chain: re-chain a trail written without AUDIT_KEY, if intact."""
    from app.services.audit import rekey_legacy_chain, verify_chain

    checked, problem = verify_chain()
    if problem is None:
        click.echo(f"Журнал аудита уже связан ключом: записей {checked}; ничего не изменено")
        return
    done, problem = rekey_legacy_chain()
    if problem:
        click.echo(f"Журнал аудита нарушен: {problem}", err=True)
        sys.exit(1)
    click.echo(f"Журнал аудита связан ключом AUDIT_KEY: записей {done}")


def register_cli(app) -> None:
    """Attach the command groups to the app."""
    app.cli.add_command(school_cli)
    app.cli.add_command(audit_cli)
    from app.cli_exchange import exchange_cli
    from app.cli_extracts import extracts_cli
    from app.cli_forecast import forecast_cli
    from app.cli_timetable import timetable_cli

    app.cli.add_command(forecast_cli)
    app.cli.add_command(extracts_cli)
    app.cli.add_command(exchange_cli)
    app.cli.add_command(timetable_cli)
