"""Who is taught by an assignment on a day: class, group, stream or individual-plan membership."""
import datetime as dt

from sqlalchemy import and_, or_, select

from app.extensions import db
from app.models import (
    ClassUnit,
    Enrolment,
    IndividualPlan,
    Student,
    StudyGroup,
    TeachingAssignment,
    stream_student,
    study_group_student,
)


def enrolled_between(start, end):
    """Condition on Enrolment: the enrolment overlaps the days from start to end (dates or columns)."""
    return and_(Enrolment.start <= end, or_(Enrolment.end.is_(None), Enrolment.end >= start))


def members_query(assignment: TeachingAssignment, start: dt.date, end: dt.date):
    """Select (Student) of those taught by the assignment at any day from start to end."""
    query = select(Student).join(Enrolment, Enrolment.student_id == Student.id).where(enrolled_between(start, end))
    if assignment.class_unit_id:
        query = query.where(Enrolment.class_unit_id == assignment.class_unit_id)
    elif assignment.group_id:
        query = query.join(study_group_student, study_group_student.c.student_id == Student.id).where(
            study_group_student.c.group_id == assignment.group_id,
            Enrolment.class_unit_id == select(StudyGroup.class_unit_id).where(
                StudyGroup.id == assignment.group_id).scalar_subquery())
    elif assignment.stream_id:
        query = query.join(stream_student, stream_student.c.student_id == Student.id).where(
            stream_student.c.stream_id == assignment.stream_id)
    else:
        query = query.where(Student.id == select(IndividualPlan.student_id).where(
            IndividualPlan.id == assignment.plan_id).scalar_subquery())
    return query.distinct().order_by(Student.surname, Student.name, Student.id)


def is_member(assignment: TeachingAssignment, student_id: int, day: dt.date) -> bool:
    """Whether the student belongs to the assignment's target on that day."""
    query = members_query(assignment, day, day).where(Student.id == student_id)
    return db.session.scalar(query.limit(1)) is not None


def grade_of(assignment: TeachingAssignment) -> int | None:
    """The grade of the target's class (for grade-level holidays); None for mixed streams."""
    if assignment.class_unit_id:
        return assignment.class_unit.grade
    if assignment.group_id:
        return assignment.group.class_unit.grade
    if assignment.plan_id:
        cls = assignment.plan.student.class_unit
        return cls.grade if cls else None
    return None


def scheme_class(assignment: TeachingAssignment) -> ClassUnit | None:
    """The class whose period scheme the assignment's lessons follow."""
    if assignment.class_unit_id:
        return assignment.class_unit
    if assignment.group_id:
        return assignment.group.class_unit
    if assignment.plan_id:
        return assignment.plan.student.class_unit
    return None


