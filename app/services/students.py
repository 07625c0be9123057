"""Students' class membership: the enrolment history follows the current class."""
import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import Enrolment, Student
from app.services import clock, structure

ONE_DAY = dt.timedelta(days=1)


def open_enrolment(student: Student) -> Enrolment | None:
    """The enrolment that has not ended, if any."""
    return db.session.scalar(
        select(Enrolment).where(Enrolment.student_id == student.id, Enrolment.end.is_(None))
    ) if student.id else None


def latest_enrolment(student: Student) -> Enrolment | None:
    """The enrolment that started last, open or not."""
    return db.session.scalar(
        select(Enrolment).where(Enrolment.student_id == student.id).order_by(Enrolment.start.desc()).limit(1)
    ) if student.id else None


def sync_enrolment(student: Student, today: dt.date | None = None) -> Enrolment | None:
    """Close or open enrolments so that the history agrees with `student.class_unit` and `left_on`.

    A move to another class on `today` ends the old enrolment the day before; a class of a new
    year starts with that year. Returns the student's open or latest enrolment.
    """
    today = today or clock.today()
    current = open_enrolment(student)
    target = student.class_unit
    if current is None and target is not None:
        # A closed enrolment in the same class the student has not re-entered since: the leaving
        # date was corrected or cleared, so that enrolment is re-dated, not a second one opened.
        last = latest_enrolment(student)
        if last is not None and last.class_unit_id == target.id and student.enrolled_on <= last.end:
            current = last
    if current is not None and target is not None and current.class_unit_id == target.id:
        current.end = max(student.left_on, current.start) if student.left_on else None
        return current
    start = None
    if current is not None:
        if target is None:
            end = student.left_on or today
        elif target.year_id != current.class_unit.year_id:
            end = current.class_unit.year.end
        else:
            end = today - ONE_DAY
        current.end = max(current.start, end)
        start = current.end + ONE_DAY
        db.session.flush()
    if target is None:
        return current
    start = max(d for d in (student.enrolled_on, target.year.start, start) if d is not None)
    end = min(student.left_on, target.year.end) if student.left_on else None
    enrolment = Enrolment(school_id=student.school_id, student=student, class_unit=target,
                          start=start, end=end)
    structure.validate(enrolment)
    db.session.add(enrolment)
    db.session.flush()
    return enrolment
