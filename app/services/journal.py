"""Marks and attendance with the rules of SPEC §3: who may write, when, for whom, and no silent
overwrites. Every entry point flushes but does not commit: the caller owns the transaction."""
import datetime as dt
from dataclasses import dataclass

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, event, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    Holiday,
    Lesson,
    LessonStatus,
    Mark,
    ReportingPeriod,
    StudyGroup,
    TeachingAssignment,
    WorkType,
)
from app.security.roles import ADMINISTERS, capabilities
from app.security.scope import Scope, current_scope, writer_scope
from app.services import clock
from app.services.assessment import check_marks_allowed, refuse_marks, taught_and_mode
from app.services.calendar import holiday_on
from app.services.errors import RuleViolation
from app.services.freeze import closed_message, closed_period_of
from app.services.membership import grade_of, is_member


@dataclass(frozen=True)
class Actor:
    """Who writes: their scope and whether they are the administration (no edit window)."""

    username: str
    scope: Scope
    administration: bool = False


class Conflict(Exception):
    """Someone else changed the entry since the writer saw it; carries the current cell."""

    def __init__(self, current: dict):
        super().__init__("conflict")
        self.current = current


def actor_of(user) -> Actor:
    """The Actor of a login user."""
    from app.security.scope import scope_for_user

    scope = current_scope() if current_scope().user_id == user.id else scope_for_user(user)
    return Actor(user.username, scope, administration=ADMINISTERS in capabilities(user.roles))


def writer_of(user) -> Actor:
    """The Actor of one journal write: it needs the user's school and staff record, not the classes they
    see (`scope.writer_scope`: the staff record came with the request's user, no statement of its own)."""
    return Actor(user.username, writer_scope(user), administration=ADMINISTERS in capabilities(user.roles))


def lesson_for_entry(lesson_id) -> Lesson | None:
    """The lesson with what the rules of an entry read (its assignment, year, subject, class or group's class,
    teacher) and the holidays of the school on its date, in one statement instead of one per relation."""
    held = db.session.info.setdefault(HELD, {})
    if isinstance(lesson_id, int) and lesson_id in held and not inspect(held[lesson_id][0]).expired_attributes:
        return held[lesson_id][0]  # «Все присутствуют» writes every entry of one lesson
    assignment = joinedload(Lesson.assignment)
    on_its_day = and_(Holiday.school_id == Lesson.school_id, Holiday.start <= Lesson.date, Holiday.end >= Lesson.date)
    rows = db.session.execute(select(Lesson, Holiday).outerjoin(Holiday, on_its_day).where(Lesson.id == lesson_id)
                              .order_by(Holiday.start, Holiday.id).options(
        joinedload(Lesson.teacher), assignment.joinedload(TeachingAssignment.year),
        assignment.joinedload(TeachingAssignment.subject), assignment.joinedload(TeachingAssignment.class_unit),
        assignment.joinedload(TeachingAssignment.group).joinedload(StudyGroup.class_unit))).unique().all()
    if not rows:
        return None
    lesson = rows[0][0]  # the identity map holds rows weakly: keep it for what the transaction reads next
    held[lesson.id] = (lesson, [h for _, h in rows if h is not None and h.year_id == lesson.assignment.year_id])
    return lesson  # (the outbox's payload, the cell's average)


def holidays_held(lesson: Lesson) -> list | None:
    """The holidays on the lesson's date read with it by lesson_for_entry in this transaction (None: not read)."""
    held = db.session.info.get(HELD, {}).get(lesson.id)
    return held[1] if held is not None and held[0] is lesson else None


HELD = "journal_held_lessons"


@event.listens_for(Session, "after_transaction_end")
def _let_go(session: Session, transaction) -> None:
    """The lessons an entry held are let go with its transaction (not with a flush's inner one)."""
    if transaction.parent is None:
        session.info.pop(HELD, None)


def _fail(message, field: str | None = None):
    raise RuleViolation(message, field)


def can_write_lesson(actor: Actor, lesson: Lesson) -> bool:
    """Administration of the school, the lesson's teacher (also a substitute) or its assignment's."""
    scope = actor.scope
    if scope.everything:
        return True
    if lesson.school_id != scope.school_id:
        return False
    return actor.administration or scope.staff_id in (lesson.teacher_id, lesson.assignment.teacher_id)


def frozen_period(lesson: Lesson) -> ReportingPeriod | None:
    """The closed period (of the class's scheme, or the year) that contains the lesson, if any."""
    return closed_period_of(db.session, lesson.assignment_id, lesson.date)


def lesson_lock(actor: Actor, lesson: Lesson, today: dt.date, closed: ReportingPeriod | str | bool | None = None,
                holidays: list | None = None, late: str | None = None):
    """Why entries of the lesson cannot be written today (a message), or None. The grid shows it on a
    locked column and check_entry refuses with it: one place for the rule. `closed` (the closed period
    holding the lesson or its refusal already worded, True if unknown, False if none), `holidays` (the
    year's) and `late` (the edit window's refusal, worded) may be given by a caller that asks for many
    lessons at once."""
    if lesson.status == LessonStatus.cancelled:
        return _l("The lesson of %(day)s is cancelled: nothing can be entered.", day=f"{lesson.date:%d.%m.%Y}")
    if lesson.date > today:
        return _l("The lesson of %(day)s has not taken place yet.", day=f"{lesson.date:%d.%m.%Y}")
    year = lesson.assignment.year
    if not year.contains(lesson.date):
        return _l("%(day)s is outside the academic year.", day=f"{lesson.date:%d.%m.%Y}")
    grade = grade_of(lesson.assignment)
    if holidays is None:
        holiday = holiday_on(year.id, grade, lesson.date)
    else:
        holiday = next((h for h in holidays if h.start <= lesson.date <= h.end
                        and (grade is None or h.applies_to(grade))), None)
    if holiday is not None:
        return _l("%(day)s is a holiday (%(name)s).", day=f"{lesson.date:%d.%m.%Y}", name=holiday.name)
    if closed is None:
        closed = frozen_period(lesson) or False
    if isinstance(closed, ReportingPeriod):
        return closed_message(closed)
    if closed:
        return closed if isinstance(closed, str) else _l("The period is closed.")
    if not actor.administration and not actor.scope.everything:
        days = current_app.config["MARK_EDIT_DAYS"]
        if (today - lesson.date).days > days:
            return late or edit_window_refusal()
    return None


def edit_window_refusal():
    """The refusal of a teacher's entry past the edit window (MARK_EDIT_DAYS)."""
    return _l("Teachers may change entries only within %(days)d days after the lesson; ask the administration.",
              days=current_app.config["MARK_EDIT_DAYS"])


def check_entry(actor: Actor, lesson: Lesson | None, student_id: int, today: dt.date) -> Lesson:
    """Raise RuleViolation unless the actor may write an entry for the student in the lesson today."""
    lesson = _check_lesson(actor, lesson, today)
    _check_taught(lesson, is_member(lesson.assignment, student_id, lesson.date))
    return lesson


def _check_lesson(actor: Actor, lesson: Lesson | None, today: dt.date) -> Lesson:
    """check_entry's rules of the lesson: the actor's, open for entries today."""
    if lesson is None or not can_write_lesson(actor, lesson):
        _fail(_l("The lesson is not found or is not yours."), "lesson")
    locked = lesson_lock(actor, lesson, today, holidays=holidays_held(lesson))
    if locked is not None:
        _fail(locked)
    return lesson


def _check_taught(lesson: Lesson, member: bool) -> None:
    if not member:
        _fail(_l("The student is not taught in this lesson on %(day)s.", day=f"{lesson.date:%d.%m.%Y}"), "student")


def mark_cell(mark: Mark | None) -> dict | None:
    """A mark as the grid shows it."""
    if mark is None:
        return None
    return {"id": mark.id, "value": mark.value, "work_type_id": mark.work_type_id, "version": mark.version,
            "comment": mark.comment}


def attendance_cell(entry: Attendance | None) -> dict | None:
    """An attendance entry as the grid shows it."""
    return None if entry is None else {"id": entry.id, "code": entry.code.value, "version": entry.version}


def _today(today: dt.date | None) -> dt.date:
    return today or clock.today()


def _check_version(existing, version: int | None, cell) -> None:
    """The writer must have seen the current state: the same version, or nothing for a new entry."""
    seen = version if version else None
    current = existing.version if existing is not None else None
    if seen != current:
        raise Conflict(cell(existing))


def _flush(cell, reload):
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise Conflict(cell(reload())) from None
    except IntegrityError:  # another writer created the same entry after our version check
        db.session.rollback()
        current = reload()
        if current is None:
            raise
        raise Conflict(cell(current)) from None


def _write_entry(query, version: int | None, cell, remove: bool, make, fill, existing=False) -> dict | None:
    """The shape every versioned journal entry is written in: check the version the writer saw, then
    remove the entry, or fill the existing (or a newly made) one; a concurrent writer is a Conflict.
    `existing` is the entry when the caller read it already (False: read it with the query)."""
    if existing is False:
        existing = db.session.scalar(query)
    _check_version(existing, version, cell)
    entry = None
    if remove:
        if existing is not None:
            db.session.delete(existing)
    else:
        entry = existing or make()
        fill(entry, existing is None)
        db.session.add(entry)
    _flush(cell, lambda: db.session.scalar(query))
    return cell(entry)


BAD_MARK = _l("A mark is a whole number from 1 to 5.")
BAD_CODE = _l("Attendance is one of: %(codes)s.", codes=", ".join(sorted(c.value for c in AttendanceCode)))


def set_mark(actor: Actor, lesson_id: int, student_id: int, work_type_id: int, value: int | None,
             version: int | None = None, comment: str | None = None, today: dt.date | None = None) -> dict | None:
    """Create, change (value) or remove (value None) the student's mark of a work type in a lesson;
    the comment is kept unless a new one (possibly "") is given."""
    lesson = check_entry(actor, lesson_for_entry(lesson_id), student_id, _today(today))
    return _write_mark(actor, lesson, student_id, work_type_id, value, version, comment)


def _write_mark(actor: Actor, lesson: Lesson, student_id: int, work_type_id: int, value: int | None,
                version: int | None, comment: str | None, existing: Mark | None | bool = False,
                work_type: WorkType | None | bool = False, mode: tuple | None = None) -> dict | None:
    """set_mark once check_entry has passed; `existing` is the mark of the work type and `work_type` the work
    type of the lesson's school when the caller has read them already (None: there is none; False: unknown,
    read it), `mode` the student's (assessment mode, grade) (None: unknown)."""
    if work_type is False:
        work_type = db.session.get(WorkType, work_type_id)
    if work_type is None or work_type.school_id != lesson.school_id:
        _fail(_l("Choose a work type of the school."), "work_type")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5):
        _fail(BAD_MARK, "value")
    if value is not None and mode is not None:  # removing a mark stays possible, e.g. one entered before the
        refuse_marks(lesson.assignment.subject, *mode)  # rule was set
    elif value is not None:
        check_marks_allowed(lesson.assignment.subject, student_id, lesson.date)

    def fill(mark: Mark, new: bool) -> None:
        mark.value, mark.author = value, actor.username
        if comment is not None or new:
            mark.comment = comment or ""

    return _write_entry(
        select(Mark).where(Mark.lesson_id == lesson.id, Mark.student_id == student_id,
                           Mark.work_type_id == work_type_id),
        version, mark_cell, value is None, fill=fill,
        make=lambda: Mark(school_id=lesson.school_id, lesson_id=lesson.id, student_id=student_id,
                          work_type_id=work_type_id), existing=existing)


def set_attendance(actor: Actor, lesson_id: int, student_id: int, code: str | None,
                   version: int | None = None, today: dt.date | None = None) -> dict | None:
    """Set (Н, Б, УП, ОП) or clear (None) the student's attendance entry of a lesson."""
    lesson = check_entry(actor, lesson_for_entry(lesson_id), student_id, _today(today))
    if code is not None and (not isinstance(code, str) or code not in {c.value for c in AttendanceCode}):
        _fail(BAD_CODE, "code")

    def fill(entry: Attendance, _new: bool) -> None:
        entry.code, entry.author = AttendanceCode(code), actor.username

    return _write_entry(
        select(Attendance).where(Attendance.lesson_id == lesson.id, Attendance.student_id == student_id),
        version, attendance_cell, code is None, fill=fill,
        make=lambda: Attendance(school_id=lesson.school_id, lesson_id=lesson.id, student_id=student_id))


def replace_cell_mark(actor: Actor, lesson_id: int, student_id: int, work_type_id: int, value: int | None,
                      seen: list | None = None, version: int | None = None, comment: str | None = None,
                      today: dt.date | None = None) -> dict | None:
    """The grid's cell holds one mark: a mark typed over it replaces whatever mark it shows (of any work
    type) and None clears it. `seen` are the [id, version] pairs of the marks the writer saw in the
    cell; without it, `version` is that of the mark of this work type (the older protocol). A mark the
    writer did not see is never removed: that is a Conflict carrying the cell's current marks."""
    return save_cell_mark(actor, lesson_id, student_id, work_type_id, value, seen, version, comment, today)[0]


def save_cell_mark(actor: Actor, lesson_id: int, student_id: int, work_type_id: int, value: int | None,
                   seen: list | None = None, version: int | None = None, comment: str | None = None,
                   today: dt.date | None = None) -> tuple[dict | None, str | None]:
    """replace_cell_mark, and the warning the grid shows when the student is recorded absent from the lesson
    (read with the cell's marks and the work type of the school asked for: one statement)."""
    lesson = _check_lesson(actor, lesson_for_entry(lesson_id), _today(today))
    member, *mode = taught_and_mode(lesson.assignment, student_id, lesson.date)
    _check_taught(lesson, member)
    rows = db.session.execute(
        select(Mark, Attendance.code, WorkType).select_from(Lesson)
        .outerjoin(Mark, (Mark.lesson_id == Lesson.id) & (Mark.student_id == student_id))
        .outerjoin(Attendance, (Attendance.lesson_id == Lesson.id) & (Attendance.student_id == student_id))
        .outerjoin(WorkType, (WorkType.id == work_type_id) & (WorkType.school_id == Lesson.school_id))
        .where(Lesson.id == lesson.id).order_by(Mark.id)).all()
    marks = [mark for mark, _code, _type in rows if mark is not None]
    same = next((m for m in marks if m.work_type_id == work_type_id), None)
    if seen is None:  # the older protocol: the version of the column's work type's mark, if the writer saw one
        if version and same is None:  # … and it is gone since: the writer did not see the empty cell
            raise CellConflict([mark_cell(m) for m in marks])
        seen = [[same.id, version]] if same is not None and version else []
    if not isinstance(seen, list) or not all(isinstance(x, list) and len(x) == 2 for x in seen):
        _fail(_l("The marks seen in the cell must be a list of [id, version] pairs."), "seen")
    if sorted(tuple(x) for x in seen) != sorted((m.id, m.version) for m in marks):
        raise CellConflict([mark_cell(m) for m in marks])
    cell = _write_mark(actor, lesson, student_id, work_type_id, value, same.version if same else None, comment,
                       existing=same, work_type=rows[0][2], mode=tuple(mode))
    for other in marks:
        if other is not same:
            db.session.delete(other)
    _flush(mark_cell, lambda: None)
    return cell, _absent(rows[0][1] if rows and value is not None else None)


class CellConflict(Conflict):
    """The cell's marks changed since the writer saw them; carries them all."""

    def __init__(self, marks: list[dict]):
        super().__init__(marks[0] if marks else None)
        self.marks = marks


ABSENT = {AttendanceCode.absent, AttendanceCode.ill, AttendanceCode.excused}


def absence_warning(lesson_id: int, student_id: int):
    """A warning (not a refusal) when a mark is given to a student recorded absent from the lesson."""
    return _absent(db.session.scalar(select(Attendance.code).where(Attendance.lesson_id == lesson_id,
                                                                   Attendance.student_id == student_id)))


def _absent(code: AttendanceCode | None):
    if code is None or code not in ABSENT:
        return None
    return _l("The student is recorded absent (%(code)s) from this lesson; the mark is saved.", code=code.value)


def mark_all_present(actor: Actor, lesson_id: int, seen: dict | None, today: dt.date | None = None) -> int:
    """«Все присутствуют»: clear every attendance entry of the lesson (each audited) and record the lesson
    as held. `seen` maps student ids to the versions of the entries the writer saw; an entry they did not
    see is a Conflict. Returns how many entries were cleared."""
    lesson = db.session.get(Lesson, lesson_id)
    if lesson is None or not can_write_lesson(actor, lesson):
        _fail(_l("The lesson is not found or is not yours."), "lesson")
    locked = lesson_lock(actor, lesson, _today(today))
    if locked is not None:
        _fail(locked)
    if not isinstance(seen, dict):
        _fail(_l("The attendance seen must map students to versions."), "seen")
    entries = db.session.scalars(select(Attendance).where(Attendance.lesson_id == lesson.id)).all()
    for entry in entries:
        set_attendance(actor, lesson.id, entry.student_id, None, seen.get(str(entry.student_id)), today=today)
    if lesson.status == LessonStatus.planned:
        lesson.status = LessonStatus.held
    db.session.flush()
    return len(entries)
