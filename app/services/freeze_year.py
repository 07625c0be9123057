"""A closed academic year is read-only (issue 18): once the next year is built from it, nothing that belongs to
it is inserted, changed or deleted on any path. It runs inside freeze.py's before-flush guard, beside the
closed periods' rule, and resolves each row to its year: by `year_id`, its class, period, assignment or
lesson, or (recommendations) its date. At most five statements per flush, none when no year is closed."""
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from app.models import (
    AcademicYear,
    Attendance,
    ClassUnit,
    ControlWorkPlan,
    CurriculumItem,
    Enrolment,
    FinalGrade,
    Holiday,
    IndividualPlan,
    Lesson,
    LessonChange,
    Mark,
    PeriodKind,
    PromotionDecision,
    Recommendation,
    ReportingPeriod,
    Stream,
    StudyGroup,
    TeachingAssignment,
    TimetableEntry,
)
from app.services.errors import RuleViolation
from app.services.freeze import (
    MESSAGES,
    _held_lessons,
    _held_school,
    _ids,
    _read_old,
    _Removed,
    _touched,
    _values,
    closed_years,
)

BY_YEAR = (ReportingPeriod, Holiday, ClassUnit, Stream, IndividualPlan, TeachingAssignment, PromotionDecision)
BY_CLASS = (Enrolment, StudyGroup, CurriculumItem)
BY_ASSIGNMENT = (Lesson, ControlWorkPlan, TimetableEntry)
BY_LESSON = (Mark, Attendance, LessonChange)
YEAR_MODELS = (AcademicYear, *BY_YEAR, *BY_CLASS, FinalGrade, *BY_ASSIGNMENT, *BY_LESSON, Recommendation)
# Bookkeeping a closed year still takes: the portal's receipt of a final, reopening (or closing) the year.
ALLOWED = {FinalGrade: {"published_at"}, AcademicYear: {"closed"}}


def year_closed_message(year: AcademicYear) -> str:
    """«Учебный год 2025/2026 закрыт…»: the refusal naming the year."""
    return str(MESSAGES[PeriodKind.year]) % {"number": 1, "year": year.name}


def _changed(session: Session, obj, deleted) -> bool:
    """A new or deleted row, or one whose columns (beyond bookkeeping) or memberships change."""
    if type(obj) in ALLOWED and obj not in deleted and obj.id is not None:
        state = inspect(obj)
        skip = ALLOWED[type(obj)]
        return any(state.attrs[a.key].history.has_changes() for a in state.mapper.column_attrs if a.key not in skip)
    if _touched(obj, deleted):
        return True
    return isinstance(obj, (StudyGroup, Stream)) and session.is_modified(obj, include_collections=True)


def _claims(session: Session, objs, deleted) -> dict:
    """What the changed rows point at, by kind: year, class, period, assignment and lesson ids; (school, day)."""
    old = _read_old(session, [o for o in objs if o not in deleted])
    out = {"year": set(), "class": set(), "period": set(), "assignment": set(), "lesson": set(), "day": set()}
    for obj in objs:
        if not _changed(session, obj, deleted):
            continue
        if isinstance(obj, AcademicYear):
            out["year"].add(obj.id)
        if isinstance(obj, BY_YEAR):
            out["year"] |= _ids(obj, "year", old)
        if isinstance(obj, BY_CLASS):
            out["class"] |= _ids(obj, "class_unit", old)
        if isinstance(obj, (FinalGrade, CurriculumItem)):
            out["period"] |= _ids(obj, "period", old)
        if isinstance(obj, BY_ASSIGNMENT):
            out["assignment"] |= _ids(obj, "assignment", old)
        if isinstance(obj, BY_LESSON):
            out["lesson"] |= _ids(obj, "lesson", old)
        if isinstance(obj, Recommendation):
            out["day"] |= {(obj.school_id, day) for day in _values(obj, "date", old)}
    out["year"].discard(None)
    return out


def _years_of(session: Session, claims: dict) -> set[int]:
    """The year ids the claims resolve to (one statement per kind that has claims)."""
    years = set(claims["year"])
    lookups = ((ClassUnit, "class"), (ReportingPeriod, "period"), (TeachingAssignment, "assignment"))
    for model, key in lookups:
        if claims[key]:
            years |= set(session.scalars(select(model.year_id).where(model.id.in_(claims[key]))))
    held = {lid: _year_in_session(session, lid) for lid in claims["lesson"]}
    years |= {year for year in held.values() if year is not None}
    wanted = [lid for lid, year in held.items() if year is None]
    if wanted:
        years |= set(session.scalars(select(TeachingAssignment.year_id).join(
            Lesson, Lesson.assignment_id == TeachingAssignment.id).where(Lesson.id.in_(wanted))))
    return years


def _year_in_session(session: Session, lesson_id: int) -> int | None:
    """The year of a lesson the session holds unchanged with its assignment (a journal entry loads them with
    the lesson, so its write asks no statement); None when it must be read."""
    lesson = session.identity_map.get(identity_key(Lesson, lesson_id))
    if lesson is None or lesson in session.dirty or inspect(lesson).expired_attributes:
        return None
    assignment = inspect(lesson).dict.get("assignment")
    if assignment is None or assignment in session.dirty or inspect(assignment).expired_attributes \
            or assignment.id != lesson.assignment_id:
        return None
    return assignment.year_id


def closed_year_among(session: Session, objs, deleted=()) -> AcademicYear | None:
    """The closed year one of these rows (new, changed or deleted) belongs to, if any."""
    objs = [o for o in objs if isinstance(o, YEAR_MODELS)]
    if not objs:
        return None
    with session.no_autoflush:
        claims = _claims(session, objs, _Removed(deleted))
        closed = closed_years(session, *_schools(session, claims))
        if not closed:
            return None
        by_id = {y.id: y for y in closed}
        for year_id in _years_of(session, claims):
            if year_id in by_id:
                return by_id[year_id]
        for school_id, day in claims["day"]:
            hit = next((y for y in closed if y.school_id == school_id and y.contains(day)), None)
            if hit:
                return hit
    return None


def _schools(session: Session, claims: dict) -> tuple[set, dict]:
    """The schools of the claims the session tells (rows it holds unchanged), and the rest to ask for with the
    closed state (app.services.freeze_state): only these schools' closed years are read."""
    schools = {school_id for school_id, _ in claims["day"]}
    asks = {kind: set() for kind in ("year", "class", "period", "assignment", "lesson")}
    held = _held_lessons(session, claims["lesson"])[0]
    for kind, model in (("year", AcademicYear), ("class", ClassUnit), ("period", ReportingPeriod),
                        ("assignment", TeachingAssignment), ("lesson", Lesson)):
        for row_id in claims[kind]:
            if kind == "lesson" and row_id in held:
                school_id = _held_school(session, TeachingAssignment, held[row_id][0])
            else:
                school_id = None if kind == "lesson" else _held_school(session, model, row_id)
            if school_id is None:
                asks[kind].add(row_id)
            else:
                schools.add(school_id)
    return schools, asks


def refuse_closed_year(session: Session, objs, deleted=()) -> None:
    """Raise the Russian refusal naming the closed year when one of the rows belongs to it."""
    year = closed_year_among(session, objs, deleted)
    if year is not None:
        raise RuleViolation(year_closed_message(year))


def refuse_closed_year_assignments(session: Session, assignment_ids) -> None:
    """The same refusal for rows written without the ORM (the timetable's bulk lessons)."""
    ids = set(assignment_ids)
    if not ids:
        return
    with session.no_autoflush:
        year = session.scalar(select(AcademicYear)
                              .join(TeachingAssignment, TeachingAssignment.year_id == AcademicYear.id)
                              .where(TeachingAssignment.id.in_(ids), AcademicYear.closed.is_(True)).limit(1))
    if year is not None:
        raise RuleViolation(year_closed_message(year))
