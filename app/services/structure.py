"""Rules of the school's structure: dates in order, inside the year, no overlaps, same school.

`validate(item)` is called before any row is saved, by views, APIs, the import and the demo.
"""
import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, inspect, or_, select

from app.extensions import db
from app.models import (
    AcademicYear,
    AssessmentRule,
    BellSlot,
    Channel,
    ClassUnit,
    ContactKind,
    ContactPoint,
    CurriculumItem,
    DeliveryPreference,
    Enrolment,
    Holiday,
    IndividualPlan,
    PeriodKind,
    ReportingPeriod,
    School,
    Stream,
    Student,
    StudyGroup,
    Subject,
    TeachingAssignment,
    WorkType,
)
from app.models.teaching import TARGET_COLUMNS
from app.services.consent import validate_contact
from app.services.errors import RuleViolation

MIN_AGE, MAX_AGE = 5, 21
CLOCK = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def _d(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def _require(cond: bool, message, field: str | None = None) -> None:
    if not cond:
        raise RuleViolation(message, field)


def _dates_in_order(start, end, field: str = "end") -> None:
    _require(start is not None, _l("The start date is required."), "start")
    if end is not None:
        _require(start <= end, _l("The end date %(end)s is before the start date %(start)s.",
                                  end=_d(end), start=_d(start)), field)


def _inside_year(year: AcademicYear | None, start: dt.date, end: dt.date | None) -> None:
    _require(year is not None, _l("Choose the academic year."), "year")
    for day in (start, end):
        if day is not None:
            _require(year.contains(day), _l(
                "%(day)s is outside the academic year %(year)s (%(start)s – %(end)s).",
                day=_d(day), year=year.name, start=_d(year.start), end=_d(year.end)), "start")


def _school_id(obj) -> int | None:
    """The row's school id, also when only the `school` relation is set (not flushed yet)."""
    school_id = getattr(obj, "school_id", None)
    if school_id is None and getattr(obj, "school", None) is not None:
        school_id = obj.school.id
    return school_id


def _same_school(item, school_id: int) -> None:
    """Every related school-owned row must be of the item's school."""
    for rel in inspect(type(item)).relationships:
        if rel.key == "school" or rel.direction.name == "ONETOMANY":
            continue
        value = getattr(item, rel.key)
        for obj in value if rel.uselist else [value]:
            other = _school_id(obj) if obj is not None else None
            if other is not None and other != school_id:
                raise RuleViolation(_l("«%(obj)s» belongs to another school.", obj=obj), rel.key)


def _unique(item) -> None:
    """Unique constraints checked before the database, with a readable message."""
    model = type(item)
    for constraint in model.__table__.constraints:
        cols = [c.name for c in getattr(constraint, "columns", [])]
        if type(constraint).__name__ != "UniqueConstraint" or not cols:
            continue
        values = [getattr(item, c) for c in cols]
        if any(v is None for v in values):
            continue
        query = select(model.id).where(and_(*(getattr(model, c) == v for c, v in zip(cols, values))))
        if item.id is not None:
            query = query.where(model.id != item.id)
        if db.session.scalar(query.limit(1)) is not None:
            raise RuleViolation(_l("Such a record already exists: %(what)s.", what=_describe(item)), cols[-1])


def _describe(item) -> str:
    try:
        return str(item)
    except Exception:  # noqa: BLE001 - a half-filled row may not print
        return type(item).__name__


def _year(item: AcademicYear) -> None:
    _dates_in_order(item.start, item.end)
    _require(item.start < item.end, _l("The academic year must end after it starts."), "end")
    _require((item.end - item.start).days <= 366, _l("An academic year cannot be longer than a year."), "end")


def _period(item: ReportingPeriod) -> None:
    _dates_in_order(item.start, item.end)
    _inside_year(item.year, item.start, item.end)
    _require(item.number is not None and 1 <= item.number <= 4,
             _l("The period number must be from 1 to 4."), "number")
    clash = db.session.scalar(
        select(ReportingPeriod).where(
            ReportingPeriod.year_id == item.year.id, ReportingPeriod.kind == item.kind,
            ReportingPeriod.id != (item.id or 0),
            ReportingPeriod.start <= item.end, ReportingPeriod.end >= item.start,
        ).limit(1)
    )
    _require(clash is None, _l("The period overlaps «%(other)s» (%(start)s – %(end)s).",
                               other=clash, start=_d(clash.start), end=_d(clash.end)) if clash else "", "start")


def _holiday(item: Holiday) -> None:
    _dates_in_order(item.start, item.end)
    _inside_year(item.year, item.start, item.end)
    _grade(item.grade, allow_none=True)


def _grade(grade, allow_none: bool = False) -> None:
    if grade is None and allow_none:
        return
    _require(grade is not None and 1 <= grade <= 11, _l("The grade must be from 1 to 11."), "grade")


def _clock(value, field: str) -> None:
    _require(bool(value and CLOCK.fullmatch(value)), _l("Write the time as HH:MM, e.g. 08:30."), field)


def _bell(item: BellSlot) -> None:
    _require(item.number is not None and 0 <= item.number <= 12,
             _l("The lesson number must be from 0 to 12."), "number")
    _clock(item.start_time, "start_time")
    _clock(item.end_time, "end_time")
    _require(item.start_time < item.end_time, _l("The lesson must end after it starts."), "end_time")


def _class(item: ClassUnit) -> None:
    _grade(item.grade)
    letter = (item.letter or "").strip().upper()
    _require(1 <= len(letter) <= 4 and letter.isalpha(), _l("The class letter must be a letter, e.g. «А»."), "letter")
    item.letter = letter
    _require(item.period_kind != PeriodKind.year,
             _l("A class follows quarters, trimesters or half-years."), "period_kind")
    _require(item.year is not None, _l("Choose the academic year."), "year")
    exists = db.session.scalar(select(ClassUnit.id).where(
        ClassUnit.year_id == item.year.id, ClassUnit.grade == item.grade, ClassUnit.letter == letter,
        ClassUnit.id != (item.id or 0)))
    _require(exists is None, _l("Class %(name)s already exists in %(year)s.",
                                name=f"{item.grade}{letter}", year=item.year), "letter")


def _student(item: Student) -> None:
    _require(bool((item.surname or "").strip() and (item.name or "").strip()),
             _l("Surname and name are required."), "surname")
    _require(item.birth_date is not None, _l("The birth date is required."), "birth_date")
    _require(item.enrolled_on is not None, _l("The enrolment date is required."), "enrolled_on")
    age = (item.enrolled_on - item.birth_date).days / 365.25
    _require(MIN_AGE <= age <= MAX_AGE, _l(
        "A student enrolled on %(day)s born on %(born)s would be %(age)d years old.",
        day=_d(item.enrolled_on), born=_d(item.birth_date), age=int(age)), "birth_date")
    _dates_in_order(item.enrolled_on, item.left_on, "left_on")


def _enrolment(item: Enrolment) -> None:
    _require(item.student is not None and item.class_unit is not None,
             _l("Choose the student and the class."), "student")
    _dates_in_order(item.start, item.end)
    _inside_year(item.class_unit.year, item.start, item.end)
    far = dt.date.max
    clash = db.session.scalar(select(Enrolment).where(
        Enrolment.student_id == item.student.id, Enrolment.id != (item.id or 0),
        Enrolment.start <= (item.end or far),
        or_(Enrolment.end.is_(None), Enrolment.end >= item.start),
    ).limit(1))
    _require(clash is None, _l("%(student)s is already in class %(cls)s from %(start)s: a student is in one "
                               "class at a time.", student=item.student, cls=clash.class_unit,
                               start=_d(clash.start)) if clash else "", "start")


def _group(item: StudyGroup) -> None:
    _require(item.class_unit is not None, _l("Choose the class."), "class_unit")
    strangers = [s for s in item.students if s.class_unit_id != item.class_unit.id]
    _require(not strangers, _l("%(student)s is not a student of class %(cls)s.",
                               student=strangers[0] if strangers else "", cls=item.class_unit), "students")


def _stream(item: Stream) -> None:
    _require(item.year is not None, _l("Choose the academic year."), "year")
    strangers = [s for s in item.students if s.class_unit is None or s.class_unit.year_id != item.year.id]
    _require(not strangers, _l("%(student)s is not in a class of %(year)s.",
                               student=strangers[0] if strangers else "", year=item.year), "students")


def _plan(item: IndividualPlan) -> None:
    _require(item.student is not None and item.subject is not None and item.year is not None,
             _l("Choose the student, the subject and the year."), "student")


def _assignment(item: TeachingAssignment) -> None:
    targets = [getattr(item, c.removesuffix("_id")) for c in TARGET_COLUMNS]
    chosen = [t for t in targets if t is not None]
    _require(len(chosen) == 1, _l("Choose exactly one target: a class, a group, a stream or an "
                                  "individual plan."), "class_unit")
    _require(item.teacher is not None and item.subject is not None, _l("Choose the teacher and the subject."),
             "teacher")
    target = chosen[0]
    year_id = target.class_unit.year_id if isinstance(target, StudyGroup) else target.year_id
    _require(item.year is not None and year_id == item.year.id,
             _l("«%(target)s» is not of the academic year %(year)s.", target=target, year=item.year), "year")
    _require(item.weekly_hours is not None and 0 < float(item.weekly_hours) <= 12,
             _l("Weekly hours must be more than 0 and at most 12."), "weekly_hours")


def _curriculum(item: CurriculumItem) -> None:
    _require(item.class_unit is not None and item.period is not None and item.subject is not None,
             _l("Choose the class, the subject and the period."), "class_unit")
    _require(item.period.year_id == item.class_unit.year_id and item.period.kind in
             (item.class_unit.period_kind, PeriodKind.year),
             _l("«%(period)s» is not a period of class %(cls)s.", period=item.period, cls=item.class_unit),
             "period")
    _require(item.weekly_hours is not None and 0 < float(item.weekly_hours) <= 12,
             _l("Weekly hours must be more than 0 and at most 12."), "weekly_hours")
    _require(item.planned_hours is not None and 0 <= item.planned_hours <= 500,
             _l("Planned hours must be from 0 to 500."), "planned_hours")


def _school(item: School) -> None:
    _require(item.study_days_per_week in (None, 5, 6), _l("The study week has 5 or 6 days."), "study_days_per_week")


def _subject(item: Subject) -> None:
    _require(bool((item.name or "").strip()), _l("The name is required."), "name")


def _assessment_rule(item: AssessmentRule) -> None:
    """Grade 1–11 and a mode; one rule per grade and subject (the database's unique constraint does
    not see two «every subject» rules of a grade: NULLs differ)."""
    _grade(item.grade)
    _require(item.mode is not None, _l("Choose the assessment: unmarked or pass/fail."), "mode")
    subject_id = item.subject.id if item.subject is not None else item.subject_id
    same = select(AssessmentRule.id).where(AssessmentRule.school_id == _school_id(item),
                                           AssessmentRule.grade == item.grade,
                                           AssessmentRule.subject_id.is_(None) if subject_id is None
                                           else AssessmentRule.subject_id == subject_id)
    if item.id is not None:
        same = same.where(AssessmentRule.id != item.id)
    _require(db.session.scalar(same.limit(1)) is None,
             _l("Grade %(grade)s already has a rule for this subject.", grade=item.grade), "subject")


def _work_type(item: WorkType) -> None:
    _require(bool((item.name or "").strip()), _l("The name is required."), "name")
    _require(item.weight is not None and 1 <= item.weight <= 10, _l("The weight must be from 1 to 10."), "weight")


def _delivery(item) -> None:
    _require(item.student is not None and item.channel is not None, _l("Choose the student and the channel."),
             "student")
    wanted = {Channel.portal: ContactKind.portal, Channel.email: ContactKind.email}.get(item.channel)
    if wanted is None:
        return
    contact = item.contact
    _require(contact is not None and contact.kind == wanted,
             _l("Choose a contact of the kind the channel needs."), "contact")
    guardians = {g.guardian_id for g in item.student.guardians}
    _require(contact.guardian_id in guardians, _l("The contact is not of the student's legal representative."),
             "contact")


_RULES = {
    School: _school,
    AcademicYear: _year, ReportingPeriod: _period, Holiday: _holiday, BellSlot: _bell,
    ClassUnit: _class, Student: _student, Enrolment: _enrolment, StudyGroup: _group, Stream: _stream,
    IndividualPlan: _plan, TeachingAssignment: _assignment, CurriculumItem: _curriculum,
    Subject: _subject, WorkType: _work_type, ContactPoint: validate_contact, DeliveryPreference: _delivery,
    AssessmentRule: _assessment_rule,
}



def validate(item) -> None:
    """Raise RuleViolation if the row breaks a rule of the school's structure."""
    with db.session.no_autoflush:
        school_id = _school_id(item)
        if school_id is not None:
            _same_school(item, school_id)
        rule = _RULES.get(type(item))
        if rule:
            rule(item)
        _unique(item)


