"""The next school year from this one (issue 18): `build_next_year` checks the request, refuses a year whose
finals are incomplete (with the list), records the promotion decisions, builds the calendar, classes,
enrolments and teaching (new_year_copy) and makes the old year read-only (freeze_year). Running it again
for the same year changes nothing. One transaction: the caller commits."""
import re
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import AcademicYear, Holiday, PromotionDecision, ReportingPeriod, School
from app.services import clock
from app.services.errors import RuleViolation
from app.services.new_year_copy import Copier, shifted
from app.services.periods import CLOSED, record_status
from app.services.promotion import decide, incomplete_finals

YEAR_NAME = re.compile(r"^\s*(\d{4})\s*/\s*(\d{4})\s*$")


class IncompleteYear(RuleViolation):
    """The year's finals are not all there: `missing` lists them."""

    def __init__(self, year: AcademicYear, missing: list[str]):
        super().__init__(_l("The year %(year)s cannot be closed: %(count)d year finals are missing or deferred.",
                            year=year.name, count=len(missing)))
        self.missing = missing


@dataclass
class NewYear:
    """What was built (or found built before)."""

    source: AcademicYear
    year: AcademicYear
    created: bool
    counts: dict[str, int] = field(default_factory=dict)

    def message(self) -> str:
        """One Russian line for the CLI and the page."""
        if not self.created:
            return str(_l("The academic year %(year)s was already built from %(source)s: nothing changed.",
                          year=self.year.name, source=self.source.name))
        return str(_l("The academic year %(year)s is built from %(source)s, which is now read-only.",
                      year=self.year.name, source=self.source.name))


def latest_year(school: School) -> AcademicYear | None:
    """The school's latest academic year (the one a next year is built from)."""
    return db.session.scalar(select(AcademicYear).where(AcademicYear.school_id == school.id)
                             .order_by(AcademicYear.start.desc()).limit(1))


def next_name(year: AcademicYear) -> str:
    """«2026/2027» → «2027/2028»."""
    return f"{year.start.year + 1}/{year.start.year + 2}"


def _by_name(school: School, name: str) -> AcademicYear | None:
    return db.session.scalar(select(AcademicYear).where(AcademicYear.school_id == school.id,
                                                        AcademicYear.name == name))


def check_request(school: School, name: str) -> tuple[AcademicYear, AcademicYear | None]:
    """(this year, the next one if already built from it); RuleViolation on a bad name, a year that is not
    the next one, or a year that exists without having been built from this one."""
    match = YEAR_NAME.match(name or "")
    if not match or int(match[2]) != int(match[1]) + 1:
        raise RuleViolation(_l("Write the academic year as YYYY/YYYY of two consecutive years, e.g. 2027/2028; "
                               "got «%(name)s».", name=name), "year")
    name = f"{match[1]}/{match[2]}"
    current = latest_year(school)
    if current is None:
        raise RuleViolation(_l("The school has no academic year to build the next one from."), "year")
    existing = _by_name(school, name)
    if existing is not None:
        previous = _by_name(school, f"{int(match[1]) - 1}/{match[1]}")
        if existing.id == current.id and previous is not None and previous.closed:
            return previous, existing
        raise RuleViolation(_l("The academic year %(name)s already exists.", name=name), "year")
    if name != next_name(current):
        raise RuleViolation(_l("%(name)s is not the next year: the year after %(current)s is %(next)s.",
                               name=name, current=current.name, next=next_name(current)), "year")
    return current, None


def _calendar(source: AcademicYear, name: str) -> tuple[AcademicYear, dict[int, ReportingPeriod]]:
    """The new year with this year's periods and holidays, shifted; returns it and old period id → new period."""
    first = int(name[:4])
    year = AcademicYear(school_id=source.school_id, name=name, start=source.start.replace(year=first),
                        end=source.end.replace(year=source.end.year + 1))
    db.session.add(year)
    periods = {}
    for old in db.session.scalars(select(ReportingPeriod).where(ReportingPeriod.year_id == source.id)):
        periods[old.id] = ReportingPeriod(school_id=old.school_id, year=year, kind=old.kind, number=old.number,
                                          start=shifted(old.start, source, year), end=shifted(old.end, source, year))
    for old in db.session.scalars(select(Holiday).where(Holiday.year_id == source.id)):
        db.session.add(Holiday(school_id=old.school_id, year=year, name=old.name, grade=old.grade,
                               start=shifted(old.start, source, year), end=shifted(old.end, source, year)))
    db.session.add_all(periods.values())
    db.session.flush()
    return year, periods


def _close(source: AcademicYear, actor, reason: str) -> None:
    """Every period of the old year closed (with its history row), then the year itself."""
    for period in db.session.scalars(select(ReportingPeriod).where(ReportingPeriod.year_id == source.id,
                                                                   ReportingPeriod.closed.is_(False))):
        period.closed = True
        record_status(period, CLOSED, actor, reason)
    db.session.flush()
    source.closed = True
    db.session.flush()


def build_next_year(school: School, name: str, actor) -> NewYear:
    """Build the next year from this one (see the module's docstring); `actor` has a `username`."""
    source, existing = check_request(school, name)
    if existing is not None:
        return NewYear(source, existing, created=False)
    missing = incomplete_finals(source)
    if missing:
        raise IncompleteYear(source, missing)
    outcomes = decide(source)
    year, periods = _calendar(source, next_name(source))
    copier = Copier(source, year, periods)
    moves = copier.classes_and_students(outcomes)
    today = clock.today()
    for o in outcomes:
        placed = moves.get(o.student.id)
        db.session.add(PromotionDecision(school_id=school.id, year_id=source.id, student_id=o.student.id,
                                         class_unit_id=o.class_unit.id, next_class_id=placed.id if placed else None,
                                         outcome=o.outcome, owed=", ".join(o.owed), decided_on=today,
                                         decided_by=actor.username))
    db.session.flush()
    counts = copier.teaching()
    counts.update({kind.value: sum(o.outcome == kind for o in outcomes) for kind in {o.outcome for o in outcomes}})
    counts["classes"] = len(copier.classes)
    _close(source, actor, str(_l("The next academic year %(year)s is built.", year=year.name)))
    return NewYear(source, year, created=True, counts=counts)
