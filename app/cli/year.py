"""`flask --app run school new-year YYYY/YYYY`: the next school year from this one (app/services/new_year.py)."""
import sys
from types import SimpleNamespace

import click

from app.cli.common import fail
from app.cli.school import school_cli
from app.extensions import db

COUNT_LABELS = {
    "promoted": "переведены", "conditional": "переведены условно", "retained": "оставлены на повторное обучение",
    "graduated": "окончили уровень образования", "left": "выбыли", "classes": "классов нового года",
    "assignments": "нагрузок (черновик)", "curriculum": "строк учебного плана (черновик)",
    "timetable": "строк расписания (черновик)",
}


@school_cli.command("new-year")
@click.argument("year_name", metavar="YYYY/YYYY")
@click.option("--school", "school_name", default=None, help="Short name of the school (default: the only one).")
@click.option("--user", "username", default="new-year", show_default=True,
              help="Login the decisions and changes are attributed to.")
def new_year_command(year_name: str, school_name: str | None, username: str) -> None:
    """Build the next academic year from this one: calendar, promoted classes, decisions from the year finals,
    teaching copied as drafts; this year becomes read-only. Re-running changes nothing.

    Exit 1 with the list when year finals are missing; exit 2 on a bad year or school."""
    from app.services.audit import acting_as
    from app.services.errors import RuleViolation
    from app.services.new_year import IncompleteYear, build_next_year
    from app.services.roster import find_school

    try:
        school = find_school(school_name)
        with acting_as(username):
            result = build_next_year(school, year_name, SimpleNamespace(username=username))
    except IncompleteYear as err:
        db.session.rollback()
        click.echo(f"Ошибка: {err.message} Ничего не изменено.", err=True)
        for line in err.missing:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    except RuleViolation as err:
        db.session.rollback()
        fail(f"{err.message} Ничего не изменено.")
    db.session.commit()
    click.echo(result.message())
    for key, label in COUNT_LABELS.items():
        if key in result.counts:
            click.echo(f"  {label}: {result.counts[key]}")
