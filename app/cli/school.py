"""`flask --app run school init|demo|lessons|import`: set the school up, load the demo, make lessons,
import a roster."""
import datetime as dt
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _
from flask_migrate import upgrade
from sqlalchemy import inspect, text

from app.cli.common import fail, parse_day
from app.extensions import db

school_cli = AppGroup("school", help="School setup: migrate, roles, demo data.")


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


@school_cli.command("demo")
@click.option("--size", type=click.Choice(["small", "school"]), default="small", show_default=True)
@click.option("--seed", type=int, default=1, show_default=True)
@click.option("--today", callback=parse_day, default=None, help="The demo's today, YYYY-MM-DD.")
@click.option("--schools", default="1", show_default=True,
              help="A district: this many demo schools (the first is the demo school; the others' logins "
                   "are prefixed s02-, s03-, …).")
def demo_command(size: str, seed: int, today: dt.date | None, schools: str) -> None:
    """Load a deterministic demo school (or a district of them) and print its logins (never in production:
    their passwords are known). A school already there is left as it is."""
    import time

    from app.services.demo import DISTRICT_LIMIT, DemoAlreadyLoaded, load_demo

    if production():
        fail("демонстрационные данные не загружаются в рабочей конфигурации: их пароли известны всем")
    count = district_size(schools, DISTRICT_LIMIT)
    started = time.perf_counter()
    for number in range(1, count + 1):
        try:
            result = load_demo(size=size, seed=seed, today=today or dt.date.today(),
                               password=current_app.config["DEMO_PASSWORD"], number=number)
        except DemoAlreadyLoaded as err:
            click.echo(str(err))
            continue
        except ValueError as err:
            db.session.rollback()
            fail(str(err))
        click.echo(result.summary())
        db.session.expunge_all()  # a district: the next school starts from an empty session
        analyse()  # each school: see analyse()
    click.echo(f"Загружено за {time.perf_counter() - started:.1f} с")


def analyse() -> None:
    """Give PostgreSQL's planner the loaded tables' statistics (about 1 s for the school-size demo): autovacuum
    gathers them only some time after a bulk load, and until then the demo's pages and `make bench` were planned
    for empty tables (the statistics' raw GROUP BY took 21 ms instead of 5). After each school of a district:
    with the statistics of the first school only, each later school's COPY of marks took ~1 s instead of
    0.25 (the district's load 24 → 38–51 s; which plan went wrong was not pinned down). SQLite plans
    by its own rules without statistics; an ANALYZE there would change every page's plans."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()


def district_size(value: str, limit: int) -> int:
    """`--schools`: a whole number from 1 to the limit, else exit 2 before anything is written."""
    number = int(value) if value.strip().isdigit() else 0
    if not 1 <= number <= limit:
        fail(_("--schools must be a whole number from 1 to %(limit)s, got «%(value)s»", limit=limit, value=value))
    return number


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
