"""`flask timetable import FILE [--dry-run]` (CSV, XLSX or aSc Timetables XML) and `flask timetable
template FILE` (the empty CSV to fill in)."""
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from app.cli.common import fail
from app.extensions import db

timetable_cli = AppGroup("timetable", help="The timetable: import and its template.")


@timetable_cli.command("import")
@click.argument("file", metavar="FILE")
@click.option("--dry-run", is_flag=True, help="Check every row; save nothing.")
@click.option("--school", "school_name", default=None, help="Short name of the school (default: the only one).")
@click.option("--year", "year_name", default=None, help="Academic year, e.g. 2026/2027 (default: the current one).")
def import_command(file: str, dry_run: bool, school_name: str | None, year_name: str | None) -> None:
    """Add the timetable entries of a file. All or nothing: each bad row is «строка N: причина»
    (exit 1); a missing file, an unknown format or school exits 2."""
    from app.services import roster
    from app.services.errors import RuleViolation
    from app.services.timetable_import import TimetableRejected, import_timetable, read_table

    path = Path(file)
    if not path.is_file():
        fail(f"файл «{file}» не найден")
    try:
        rows = read_table(path.read_bytes(), path.name)
        school = roster.find_school(school_name)
        year = roster.find_year(school, year_name)
        outcome = import_timetable(rows, school, year, dry_run=dry_run)
    except (RuleViolation, roster.RosterFormatError) as err:
        db.session.rollback()
        fail(err.message)
    except TimetableRejected as err:
        db.session.rollback()
        for line, reason in err.problems:
            click.echo(f"строка {line}: {reason}", err=True)
        click.echo("Ничего не сохранено.", err=True)
        sys.exit(1)
    if dry_run:
        db.session.rollback()
        click.echo(f"Проверка без сохранения: ошибок нет, будет добавлено записей расписания: {outcome.created}")
        return
    db.session.commit()
    click.echo(f"Добавлено записей расписания: {outcome.created}")


@timetable_cli.command("template")
@click.argument("file", metavar="FILE")
def template_command(file: str) -> None:
    """Write the empty CSV template (with one example row) to FILE."""
    from app.services.timetable_import import template_csv

    Path(file).write_bytes(template_csv())
    click.echo(f"Шаблон записан в {file}")
