"""A closed reporting period is frozen (SPEC §3): nothing that belongs to it is inserted, changed or
deleted, on any path (page, REST API, JSON endpoint, service, CLI), because the check runs in the
session itself before every flush, as the consents' append-only rule does.

A row belongs to the closed period of its class's scheme (or the year) that covers its date: lessons,
lesson changes (the lesson's date, old and new), marks and attendance (their lesson's date), control
works and recommendations (their date), enrolments (a changed start or leaving date), group and stream
memberships (while the student was in the class), curriculum items and finals (their period). The only
exception is the administration completing a deferred final (`release_deferred`, called by the
finals service). The lookups are batched: at most five statements per flush that touches such rows.
"""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.util import identity_key

from app.models import (
    AcademicYear,
    Attendance,
    ClassUnit,
    ControlWorkPlan,
    CurriculumItem,
    Enrolment,
    FinalGrade,
    FinalStatus,
    IndividualPlan,
    Lesson,
    LessonChange,
    Mark,
    PeriodKind,
    Recommendation,
    ReportingPeriod,
    Stream,
    Student,
    StudyGroup,
    TeachingAssignment,
    stream_student,
)
from app.services.errors import RuleViolation
from app.services.freeze_state import closed_state, forgotten_with_its_transaction

FROZEN_MODELS = (Lesson, LessonChange, Mark, Attendance, ControlWorkPlan, Recommendation, FinalGrade,
                 CurriculumItem, Enrolment, StudyGroup, Stream, ReportingPeriod)
RELEASED = "freeze_released_finals"  # session.info key: finals the administration may complete
BOOKKEEPING = {FinalGrade: {"published_at"}}  # set by the exchange's receipts, not a change of the result
MESSAGES = {
    PeriodKind.quarter: _l("Quarter %(number)s of %(year)s is closed: nothing of it changes until the "
                           "administration reopens it."),
    PeriodKind.trimester: _l("Trimester %(number)s of %(year)s is closed: nothing of it changes until the "
                             "administration reopens it."),
    PeriodKind.half_year: _l("Half-year %(number)s of %(year)s is closed: nothing of it changes until the "
                             "administration reopens it."),
    PeriodKind.year: _l("The academic year %(year)s is closed: nothing of it changes until the "
                        "administration reopens it."),
}


def closed_message(period: ReportingPeriod) -> str:
    """«1-я четверть 2026/2027 закрыта…»: the refusal naming the period."""
    return str(MESSAGES[period.kind]) % {"number": period.number, "year": period.year.name}


def release_deferred(grade: FinalGrade) -> None:
    """Let this flush complete a deferred final of a closed period (the administration's path only)."""
    from app.extensions import db

    db.session.info.setdefault(RELEASED, set()).add(grade.id)


class _Removed:
    """Rows being deleted, by identity (some models, e.g. FAB's, are not hashable)."""

    def __init__(self, rows):
        self.ids = {id(row) for row in rows}

    def __contains__(self, row) -> bool:
        return id(row) in self.ids


@dataclass
class _Claims:
    """What the rows of a flush touch, resolved to closed periods in a few batched statements."""

    by_assignment: set = field(default_factory=set)  # (assignment id, day)
    by_class: set = field(default_factory=set)  # (class id, day): enrolment dates
    by_student: set = field(default_factory=set)  # (student id, day): the class they were in that day
    periods: set = field(default_factory=set)  # period ids (finals, curriculum items)
    lessons: set = field(default_factory=set)  # lesson ids, or (lesson id, day) of a change's dates
    memberships: set = field(default_factory=set)  # (student id, class id or None, stream's year id or None)
    direct: list = field(default_factory=list)  # closed periods whose own row changes

    def empty(self) -> bool:
        return not any((self.by_assignment, self.by_class, self.by_student, self.periods, self.lessons,
                        self.memberships, self.direct))


def _values(obj, key: str, old_rows: dict) -> set:
    """The attribute's value before and after the flush (one value when unchanged; the old one of a deletion)."""
    state = inspect(obj)
    hist = state.attrs[key].history
    current = hist.added[0] if hist.added else getattr(obj, key)
    out = {current}
    if state.key is not None and hist.added:
        if hist.deleted:
            out.add(hist.deleted[0])
        elif key in old_rows.get(state, {}):
            out.add(old_rows[state][key])
    return out - {None}


def _ids(obj, relation: str, old_rows: dict) -> set:
    """Ids the row links to through `relation` before and after the flush; a related row set but not
    yet flushed into the foreign key counts by its id (a row of this same flush has none yet)."""
    ids = _values(obj, f"{relation}_id", old_rows)
    related = inspect(obj).dict.get(relation)
    if related is not None and getattr(related, "id", None) is not None:
        ids.add(related.id)
    return ids


def _changed(obj, keys) -> bool:
    state = inspect(obj)
    return any(state.attrs[k].history.has_changes() for k in keys)


def _touched(obj, deleted) -> bool:
    """A new or deleted row, or one whose columns (other than bookkeeping ones) change."""
    state = inspect(obj)
    if state.key is None or obj in deleted:
        return True
    skip = BOOKKEEPING.get(type(obj), set())
    return any(state.attrs[a.key].history.has_changes() for a in state.mapper.column_attrs if a.key not in skip)


def _read_old(session: Session, objs) -> dict:
    """Old column values the session does not know (set after a commit expired them), read in one
    statement per model."""
    wanted = defaultdict(list)
    for obj in objs:
        state = inspect(obj)
        if state.key is None:
            continue
        if any(state.attrs[a.key].history.added and not state.attrs[a.key].history.deleted
               for a in state.mapper.column_attrs):
            wanted[type(obj)].append(state)
    out = {}
    for model, states in wanted.items():
        rows = {row["id"]: row for row in session.execute(
            select(model.__table__).where(model.__table__.c.id.in_([s.key[1][0] for s in states]))).mappings()}
        for state in states:
            row = rows.get(state.key[1][0])
            if row is not None:
                out[state] = dict(row)
    return out


def _collect(session: Session, objs, deleted) -> _Claims:
    claims = _Claims()
    old = _read_old(session, [o for o in objs if o not in deleted])
    for obj in objs:
        kind = type(obj)
        if kind in (StudyGroup, Stream):
            _memberships(obj, deleted, claims)
            continue
        if kind is ReportingPeriod:
            _period_row(obj, deleted, claims)
            continue
        if not _touched(obj, deleted):
            continue
        if kind in (Lesson, ControlWorkPlan):
            claims.by_assignment |= {(a, day) for a in _ids(obj, "assignment", old)
                                     for day in _values(obj, "date", old)}
        elif kind in (Mark, Attendance, LessonChange):
            lesson = obj.lesson if obj.lesson_id is None else None
            if lesson is not None and lesson.id is None:  # a new lesson of the same flush
                claims.by_assignment |= {(a, lesson.date) for a in _ids(lesson, "assignment", {})}
            lessons = _ids(obj, "lesson", old)
            claims.lessons |= lessons
            if kind is LessonChange:
                claims.lessons |= {(lid, day) for lid in lessons
                                   for day in _values(obj, "old_date", old) | _values(obj, "new_date", old)}
        elif kind is Recommendation:
            claims.by_student |= {(s, day) for s in _ids(obj, "student", old) for day in _values(obj, "date", old)}
        elif kind in (FinalGrade, CurriculumItem):
            if kind is FinalGrade and _released(session, obj, old):
                continue
            claims.periods |= _ids(obj, "period", old)
        elif kind is Enrolment:
            dates = ("start", "end") if obj in deleted or inspect(obj).key is None \
                or _changed(obj, ("class_unit_id", "student_id")) else \
                [k for k in ("start", "end") if _changed(obj, (k,))]
            claims.by_class |= {(c, day) for c in _ids(obj, "class_unit", old)
                                for k in dates for day in _values(obj, k, old)}
    return claims


def _released(session: Session, grade: FinalGrade, old: dict) -> bool:
    """The administration completes a deferred final through the finals service."""
    if grade.id is None or grade.id not in session.info.get(RELEASED, ()):
        return False
    state = inspect(grade)
    hist = state.attrs["status"].history
    before = hist.deleted[0] if hist.deleted else old.get(state, {}).get("status", grade.status)
    return before in (FinalStatus.deferred, FinalStatus.deferred.value)


def _memberships(obj, deleted, claims: _Claims) -> None:
    """Students added to or removed from a group or stream (all of them when it is deleted)."""
    state = inspect(obj)
    if obj in deleted:
        changed = set(obj.students)
    else:
        hist = state.attrs["students"].history
        changed = set(hist.added) | set(hist.deleted)
    for student in changed:
        if isinstance(obj, StudyGroup):
            claims.memberships.add((student.id, obj.class_unit_id, None))
        else:
            claims.memberships.add((student.id, None, obj.year_id))


def _period_row(period: ReportingPeriod, deleted, claims: _Claims) -> None:
    """A closed period's own row changes only by reopening it (its `closed` flag)."""
    state = inspect(period)
    if state.key is None:
        return
    hist = state.attrs["closed"].history
    was_closed = hist.deleted[0] if hist.deleted else period.closed
    if not was_closed:
        return
    if period in deleted or any(state.attrs[a.key].history.has_changes()
                                for a in state.mapper.column_attrs if a.key != "closed"):
        claims.direct.append(period)


def _held_lessons(session: Session, ids: set) -> tuple[dict, set]:
    """Lesson id → (assignment id, date) as stored, where the session holds the lesson unchanged (the journal
    loaded it for the same write); and the ids that must be read."""
    rows, missing = {}, set()
    for lid in ids:
        lesson = session.identity_map.get(identity_key(Lesson, lid))
        state = inspect(lesson) if lesson is not None else None
        if state is None or lesson in session.dirty or state.expired_attributes & {"assignment_id", "date"}:
            missing.add(lid)
        else:
            rows[lid] = (lesson.assignment_id, lesson.date)
    return rows, missing


def _read_lessons(session: Session, ids: set) -> dict:
    if not ids:
        return {}
    return {lid: (aid, day) for lid, aid, day in session.execute(
        select(Lesson.id, Lesson.assignment_id, Lesson.date).where(Lesson.id.in_(ids)))}


def _held_school(session: Session, model, row_id: int) -> int | None:
    """The school of a period or class the session holds unchanged; None when it must be asked."""
    row = session.identity_map.get(identity_key(model, row_id))
    if row is None or row in session.dirty or "school_id" in inspect(row).expired_attributes:
        return None
    return row.school_id


KINDS = "freeze_assignment_kinds"  # session.info: _assignment_kinds already read in this transaction
STRUCTURE = (TeachingAssignment, ClassUnit, StudyGroup, Stream, IndividualPlan, Student)  # what decides the kinds


def _assignment_kinds(session: Session, ids) -> dict:
    """Assignment id → (school id, the period kinds its lessons follow: its class's scheme, or for a
    stream its students' classes' schemes; the year always). Kept for the transaction: the journal's
    lock and the before-flush guard of the same write ask for the same assignment."""
    known = _held_kinds(session, ids)
    wanted = set(ids) - set(known)
    if wanted:
        session.info[KINDS].update(_read_assignment_kinds(session, wanted))
    known = session.info[KINDS]
    return {aid: known[aid] for aid in ids if aid in known}


def _held_kinds(session: Session, ids) -> dict:
    """The kinds known without a statement: read earlier in the transaction, or held by the session."""
    known = session.info.setdefault(KINDS, {})
    for aid in set(ids) - set(known):
        found = _kinds_in_session(session, aid)
        if found is not None:
            known[aid] = found
    return {aid: known[aid] for aid in ids if aid in known}


def _kinds_in_session(session: Session, assignment_id: int):
    """The kinds of a class's or a group's assignment the session holds unchanged with its class (the journal
    loads them with the lesson); None when they must be read (streams and plans, or not loaded)."""
    assignment = session.identity_map.get(identity_key(TeachingAssignment, assignment_id))
    if assignment is None or assignment in session.dirty or inspect(assignment).expired_attributes:
        return None
    if assignment.stream_id or assignment.plan_id:
        return None
    holder = assignment if assignment.class_unit_id else _loaded(session, assignment, "group", StudyGroup,
                                                                  assignment.group_id)
    unit = _loaded(session, holder, "class_unit", ClassUnit, holder.class_unit_id) if holder is not None else None
    if unit is None or unit in session.dirty or holder in session.dirty or inspect(unit).expired_attributes:
        return None
    return assignment.school_id, {unit.period_kind, PeriodKind.year}


def _loaded(session: Session, owner, relation: str, model, row_id):
    """The row a to-one relation points to, if the session holds it (loaded with the owner or on its own, as
    the grid reads the journal's class)."""
    found = inspect(owner).dict.get(relation)
    return found if found is not None else session.identity_map.get(identity_key(model, row_id))


def _read_assignment_kinds(session: Session, ids) -> dict:
    if not ids:
        return {}
    group_class, plan_class, own_class = aliased(ClassUnit), aliased(ClassUnit), aliased(ClassUnit)
    rows = session.execute(
        select(TeachingAssignment.id, TeachingAssignment.school_id, TeachingAssignment.stream_id,
               own_class.period_kind, group_class.period_kind, plan_class.period_kind)
        .outerjoin(own_class, own_class.id == TeachingAssignment.class_unit_id)
        .outerjoin(StudyGroup, StudyGroup.id == TeachingAssignment.group_id)
        .outerjoin(group_class, group_class.id == StudyGroup.class_unit_id)
        .outerjoin(IndividualPlan, IndividualPlan.id == TeachingAssignment.plan_id)
        .outerjoin(Student, Student.id == IndividualPlan.student_id)
        .outerjoin(plan_class, plan_class.id == Student.class_unit_id)
        .where(TeachingAssignment.id.in_(ids))).all()
    streams = {r[2] for r in rows if r[2]}
    stream_kinds = defaultdict(set)
    if streams:
        for stream_id, kind in session.execute(
                select(stream_student.c.stream_id, ClassUnit.period_kind).distinct()
                .join(Student, Student.id == stream_student.c.student_id)
                .join(ClassUnit, ClassUnit.id == Student.class_unit_id)
                .where(stream_student.c.stream_id.in_(streams))):
            stream_kinds[stream_id].add(kind)
    out = {}
    for aid, school_id, stream_id, *kinds in rows:
        found = {k for k in kinds if k} | stream_kinds.get(stream_id, set()) | {PeriodKind.year}
        out[aid] = (school_id, found)
    return out


def frozen_among(session: Session, objs, deleted=()) -> ReportingPeriod | None:
    """The closed period one of these rows (new, changed or deleted) belongs to, if any."""
    objs = [o for o in objs if type(o) in FROZEN_MODELS]
    if not objs:
        return None
    deleted = _Removed(deleted)
    claims = _collect(session, objs, deleted)
    if claims.direct:
        return claims.direct[0]
    if claims.empty():
        return None
    with session.no_autoflush:
        return _match(session, claims)


def _match(session: Session, claims: _Claims) -> ReportingPeriod | None:
    held, unheld = _held_lessons(session, {c if isinstance(c, int) else c[0] for c in claims.lessons})
    by_assignment = set(claims.by_assignment) | _lesson_claims(claims, held)
    closed = _closed_of_claims(session, claims, {a for a, _ in by_assignment}, unheld)
    if not closed:
        return None
    year_first = {p.year_id: p for p in closed if p.kind == PeriodKind.year and p.year.closed}
    by_id = {p.id: year_first.get(p.year_id, p) for p in closed}  # a closed year's rows are refused in its name
    for period_id in claims.periods:
        if period_id in by_id:
            return by_id[period_id]
    # Lessons (of marks, attendance, changes) → their assignment and date (and a change's dates).
    by_assignment |= _lesson_claims(claims, _read_lessons(session, unheld))
    kinds = _assignment_kinds(session, {a for a, _ in by_assignment})
    for aid, day in by_assignment:
        school_id, scheme = kinds.get(aid, (None, {PeriodKind.year}))
        hit = _covering(closed, school_id, scheme, day)
        if hit:
            return hit
    return _match_people(session, closed, claims)


def _lesson_claims(claims: _Claims, lesson_rows: dict) -> set:
    """(assignment id, day) of the claimed lessons found in `lesson_rows` (a change's own dates as well)."""
    out = set()
    for claim in claims.lessons:
        lid, extra = (claim, None) if isinstance(claim, int) else claim
        if lid in lesson_rows:
            aid, day = lesson_rows[lid]
            out.add((aid, extra or day))
    return out


def _closed_of_claims(session: Session, claims: _Claims, assignments: set, lessons: set) -> list[ReportingPeriod]:
    """The closed periods of the schools the claims belong to: those the session tells (an assignment's kinds,
    a held period or class), the others asked of the database with the closed state itself."""
    kinds = _held_kinds(session, assignments)
    schools = {school_id for school_id, _ in kinds.values()}
    asks = {"lesson": lessons, "assignment": assignments - set(kinds), "period": set(), "class": set(),
            "student": {s for s, _ in claims.by_student} | {s for s, _, _ in claims.memberships}}
    for kind, model, ids in (("period", ReportingPeriod, claims.periods),
                             ("class", ClassUnit, {c for c, _ in claims.by_class} | {c for _, c, _ in
                                                                                    claims.memberships if c})):
        for row_id in ids:
            school_id = _held_school(session, model, row_id)
            if school_id is None:
                asks[kind].add(row_id)
            else:
                schools.add(school_id)
    return closed_state(session, schools, asks).periods()


def _match_people(session: Session, closed, claims: _Claims) -> ReportingPeriod | None:
    """Enrolments, recommendations and memberships: the student's class (scheme) on the day."""
    class_ids = {c for c, _ in claims.by_class} | {c for _, c, _ in claims.memberships if c}
    students = {s for s, _ in claims.by_student} | {s for s, _, _ in claims.memberships}
    enrolments = []
    if students:
        enrolments = session.execute(
            select(Enrolment.student_id, Enrolment.class_unit_id, Enrolment.start, Enrolment.end,
                   ClassUnit.school_id, ClassUnit.period_kind, ClassUnit.year_id)
            .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
            .where(Enrolment.student_id.in_(students))).all()
        class_ids |= {e[1] for e in enrolments}
    classes = {cid: (school_id, kind) for cid, school_id, kind in session.execute(
        select(ClassUnit.id, ClassUnit.school_id, ClassUnit.period_kind).where(ClassUnit.id.in_(class_ids)))} \
        if class_ids else {}
    for class_id, day in claims.by_class:
        school_id, kind = classes.get(class_id, (None, PeriodKind.year))
        hit = _covering(closed, school_id, {kind, PeriodKind.year}, day)
        if hit:
            return hit
    for student_id, day in claims.by_student:
        for sid, _cid, start, end, school_id, kind, _year in enrolments:
            if sid == student_id and start <= day and (end is None or day <= end):
                hit = _covering(closed, school_id, {kind, PeriodKind.year}, day)
                if hit:
                    return hit
    for student_id, class_id, year_id in claims.memberships:
        for sid, cid, start, end, school_id, kind, year in enrolments:
            if sid != student_id or (class_id and cid != class_id) or (year_id and year != year_id):
                continue
            hit = _overlapping(closed, school_id, {kind, PeriodKind.year}, start, end)
            if hit:
                return hit
    return None


def closed_periods(session: Session, schools=(), asks: dict | None = None) -> list[ReportingPeriod]:
    """The closed periods of these schools (and of those the `asks` point at, see freeze_state), and every
    period of a closed academic year (app.services.freeze_year) with the year's own period first, so that a
    row of a closed year is refused in the year's name (a year without a «year» period gets a stand-in
    spanning it, never saved). Only schools read in this transaction: never the whole district's."""
    return closed_state(session, schools, asks).periods()


def closed_years(session: Session, schools=(), asks: dict | None = None) -> list[AcademicYear]:
    """The closed academic years of these schools (read with their closed periods, once per transaction)."""
    return closed_state(session, schools, asks).years()


@event.listens_for(Session, "after_flush")
def _forget_kinds_if_changed(session: Session, _context) -> None:
    if any(isinstance(o, STRUCTURE) for o in (*session.new, *session.dirty, *session.deleted)):
        session.info.pop(KINDS, None)


forgotten_with_its_transaction(KINDS)


def _covering(closed, school_id, kinds, day: dt.date) -> ReportingPeriod | None:
    return _overlapping(closed, school_id, kinds, day, day)


def _overlapping(closed, school_id, kinds, start: dt.date, end: dt.date | None) -> ReportingPeriod | None:
    for period in closed:
        if period.kind in kinds and (school_id is None or period.school_id == school_id) \
                and period.start <= (end or period.end) and start <= period.end:
            return period
    return None


def refuse_frozen(session: Session, objs, deleted=()) -> None:
    """Raise the Russian refusal naming the closed period when one of the rows belongs to it."""
    from app.services.freeze_year import refuse_closed_year

    period = frozen_among(session, objs, deleted)
    if period is not None:
        raise RuleViolation(closed_message(period))
    refuse_closed_year(session, objs, deleted)


@event.listens_for(Session, "before_flush")
def _frozen_periods(session: Session, _context, _instances) -> None:
    """No path may insert, change or delete what belongs to a closed period."""
    objs = list(session.new) + list(session.dirty) + list(session.deleted)
    try:
        refuse_frozen(session, objs, session.deleted)
    finally:
        session.info.pop(RELEASED, None)


def frozen_lessons(session: Session, lessons) -> set[int]:
    """Ids of the lessons that belong to a closed period of their school (the journal shows them read-only);
    one statement when the session holds the lessons' assignments with their classes (the grid's), at most
    three whatever the number of lessons."""
    lessons = list(lessons)
    if not lessons:
        return set()
    ids = {lesson.assignment_id for lesson in lessons}
    held = _held_kinds(session, ids)
    closed = closed_periods(session, {school_id for school_id, _ in held.values()}, {"assignment": ids - set(held)})
    if not closed:
        return set()
    kinds = _assignment_kinds(session, ids)
    out = set()
    for lesson in lessons:
        school_id, scheme = kinds.get(lesson.assignment_id, (None, {PeriodKind.year}))
        if _covering(closed, school_id, scheme, lesson.date):
            out.add(lesson.id)
    return out


def closed_period_of(session: Session, assignment_id: int, day: dt.date) -> ReportingPeriod | None:
    """The closed period an assignment's lesson on that day belongs to, if any."""
    claims = _Claims()
    claims.by_assignment.add((assignment_id, day))
    with session.no_autoflush:
        return _match(session, claims)


def refuse_frozen_lessons(session: Session, slots) -> None:
    """The same refusal for lessons written without the ORM (the timetable's bulk insert):
    `slots` are (assignment id, date) pairs; nor for an assignment of a closed year."""
    from app.services.freeze_year import refuse_closed_year_assignments

    refuse_closed_year_assignments(session, {a for a, _ in slots})
    claims = _Claims()
    claims.by_assignment |= set(slots)
    if claims.empty():
        return
    with session.no_autoflush:
        period = _match(session, claims)
    if period is not None:
        raise RuleViolation(closed_message(period))
