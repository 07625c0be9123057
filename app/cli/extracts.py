"""`flask --app run extracts print|verify`: paper extracts of a class or of every paper-recipient family
as one PDF, and the check of a printed file by its number (exit 0 ok, 1 mismatch, 2 bad input)."""
import re
import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli.common import fail, parse_day
from app.extensions import db

extracts_cli = AppGroup("extracts", help="Paper extracts: print (one PDF), verify a printed file.")
KINDS = {"четверть": "quarter", "quarter": "quarter", "триместр": "trimester", "trimester": "trimester",
         "полугодие": "half_year", "half-year": "half_year", "half_year": "half_year"}


def _school(short_name: str | None):
    from app.models import School

    schools = db.session.scalars(select(School).order_by(School.id)).all()
    if short_name:
        found = [s for s in schools if s.short_name == short_name]
        return found[0] if found else fail(f"школа «{short_name}» не найдена")
    return schools[0] if len(schools) == 1 else fail("укажите школу: --school КРАТКОЕ_НАЗВАНИЕ")


def _year(school, today):
    from app.models import AcademicYear
    from app.services.calendar import current_year

    last = db.session.scalar(select(AcademicYear).where(AcademicYear.school_id == school.id)
                             .order_by(AcademicYear.start.desc()).limit(1))
    return current_year(school.id, today) or last or fail("у школы нет учебного года")


def _class(school, year, name: str):
    from app.models import ClassUnit

    match = re.fullmatch(r"\s*(\d{1,2})\s*([^\s\d]+)\s*", name or "")
    found = match and db.session.scalar(select(ClassUnit).where(
        ClassUnit.year_id == year.id, ClassUnit.grade == int(match[1]), ClassUnit.letter == match[2].upper()))
    return found or fail(f"класс «{name}» не найден в {year.name}")


def _period(school, year, text: str):
    from app.models import ReportingPeriod

    text = (text or "").strip()
    if text.isdigit():
        found = db.session.get(ReportingPeriod, int(text))
        return found if found and found.school_id == school.id else fail(f"отчётный период {text} не найден")
    match = re.fullmatch(r"(\d)\s*(\S+)", text)
    if text.lower() in ("год", "year"):
        kind, number = "year", 1
    elif match and match[2].lower() in KINDS:
        kind, number = KINDS[match[2].lower()], int(match[1])
    else:
        fail(f"период «{text}»: укажите id или, например, «1 четверть», «2 триместр», «год»")
    found = db.session.scalar(select(ReportingPeriod).where(
        ReportingPeriod.year_id == year.id, ReportingPeriod.kind == kind, ReportingPeriod.number == number))
    return found or fail(f"период «{text}» не найден в {year.name}")


@extracts_cli.command("print")
@click.option("--class", "class_name", default=None, help="Class, e.g. 5А (default: the whole school).")
@click.option("--period", "period_text", required=True, help="Period id, or «1 четверть», «2 триместр», «год».")
@click.option("--paper-only", is_flag=True, help="Only families without consent to electronic delivery.")
@click.option("--sections", default="all", show_default=True,
              help="Comma-separated: timetable,changes,control,teachers,holidays,homework,recommendations; all; none.")
@click.option("--from", "start", callback=parse_day, default=None, help="Date range start, YYYY-MM-DD.")
@click.option("--to", "end", callback=parse_day, default=None, help="Date range end, YYYY-MM-DD.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The PDF file to write.")
@click.option("--school", "school_name", default=None, help="School short name (needed with several schools).")
def print_command(class_name, period_text, paper_only, sections, start, end, out, school_name) -> None:
    """Print the extracts of a class (or of every paper recipient of the school) as one logged PDF."""
    from app.services import clock
    from app.services.errors import RuleViolation
    from app.services.extracts import make_order, print_order, system_printer
    from app.services.extracts_data import SECTIONS

    today = clock.today()
    school = _school(school_name)
    year = _year(school, today)
    cls = _class(school, year, class_name) if class_name else None
    period = _period(school, year, period_text)
    chosen = {"all": list(SECTIONS), "none": []}.get(sections, [s.strip() for s in sections.split(",") if s.strip()])
    if not cls and not paper_only:
        fail("без --class печатаются только семьи на бумажной форме: добавьте --paper-only")
    printer = system_printer()
    try:
        order = make_order(printer, period_id=period.id, class_id=cls.id if cls else None, all_paper=cls is None,
                           paper_only=paper_only, sections=chosen, start=start, end=end, today=today)
        data = print_order(printer, order, today)
        Path(out).write_bytes(data)
        db.session.commit()
    except RuleViolation as err:
        db.session.rollback()
        fail(err.message)
    except OSError as err:
        db.session.rollback()
        fail(f"не удалось записать {out}: {err.strerror}")
    logs = order.logs
    click.echo(f"Напечатано выписок: {len(logs)} ({logs[0].number} … {logs[-1].number}), "
               f"страниц: {sum(x.pages for x in logs)}, файл: {out}")


@extracts_cli.command("verify")
@click.argument("number")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--school", "school_name", default=None, help="School short name (when numbers repeat).")
def verify_command(number: str, file: str, school_name: str | None) -> None:
    """Whether FILE is the PDF printed under NUMBER: exit 0 yes, 1 no, 2 unknown number or file."""
    from app.services.extracts import verify

    try:
        data = Path(file).read_bytes()
    except OSError as err:
        fail(f"не удалось прочитать {file}: {err.strerror}")
    verdict = verify(number, data, _school(school_name).id if school_name else None)
    if not verdict.found:
        fail(f"выписка № {number} не печаталась")
    if not verdict.ok:
        click.echo(f"Файл НЕ совпадает с выпиской № {verdict.number}: он изменён или от другой печати", err=True)
        sys.exit(1)
    log = verdict.log
    click.echo(f"Подлинная выписка № {log.number}: {log.student.full_name}, {log.period.title}, "
               f"напечатана {log.printed_at:%d.%m.%Y %H:%M} ({log.printed_by})")
