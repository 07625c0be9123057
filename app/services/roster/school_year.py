"""The school and the academic year an import is for."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    School,
)
from app.services import clock
from app.services.errors import RuleViolation


def find_school(short_name: str | None) -> School:
    """The school by short name; without one, the only school of the deployment."""
    if short_name:
        school = db.session.scalar(select(School).where(School.short_name == short_name))
        if school is None:
            raise RuleViolation(_l("School «%(name)s» not found.", name=short_name))
        return school
    schools = db.session.scalars(select(School).order_by(School.short_name).limit(2)).all()
    if not schools:
        raise RuleViolation(_l("There is no school in the database yet."))
    if len(schools) > 1:
        names = ", ".join(db.session.scalars(select(School.short_name).order_by(School.short_name)))
        raise RuleViolation(_l("There are several schools (%(names)s): choose one with --school.", names=names))
    return schools[0]


def school_years(school: School) -> list[AcademicYear]:
    """The school's academic years, latest first."""
    return db.session.scalars(select(AcademicYear).where(AcademicYear.school_id == school.id)
                              .order_by(AcademicYear.start.desc())).all()


def find_year(school: School, name: str | None = None) -> AcademicYear:
    """The school's academic year by name; without one, the year containing today."""
    years = school_years(school)
    if name:
        found = next((y for y in years if y.name == name), None)
        if found is None:
            raise RuleViolation(_l("The school has no academic year «%(name)s»; it has: %(names)s.", name=name,
                                   names=", ".join(y.name for y in years) or "—"))
        return found
    today = clock.today()
    found = next((y for y in years if y.contains(today)), None)
    if found is None:
        raise RuleViolation(_l("No academic year of the school contains today (%(day)s): choose one.",
                               day=today.strftime("%d.%m.%Y")))
    return found
