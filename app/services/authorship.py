"""Authorship and ownership of the journal's writes (SPEC §3): the author of a recommendation or a
lesson is the signed-in staff member, and teachers write only for their own assignments (a substitute
keeps the lesson a change gave them). The administration writes for any teacher of its school.

Called by the write guard (app/security/guard.py), which every page form and REST API passes; the
choices those forms offer come from the same rule (scope.writable_clause).
"""
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import ControlWorkPlan, Lesson, Recommendation, Staff
from app.security.scope import Scope, is_writable, teaches
from app.services.errors import RuleViolation

NOT_YOURS = _l("The record belongs to another teacher: only they or the administration change it.")
NOT_YOUR_ASSIGNMENT = _l("Teachers write only for their own teaching assignments.")
OWN_NAME = _l("Teachers write recommendations only under their own name.")
OWN_LESSON = _l("Teachers add lessons only as their own teacher; a substitution is a lesson change.")
NO_STAFF = _l("Only staff members write recommendations.")


def check_authorship(item, scope: Scope, deleting: bool = False) -> None:
    """Raise RuleViolation unless the scope may write (or delete) this row as its author; fill the
    author in when it was left out."""
    if isinstance(item, (Recommendation, ControlWorkPlan)) and item.id is not None and not is_writable(item, scope):
        raise RuleViolation(NOT_YOURS)  # the row as stored: another teacher's
    if deleting:
        return
    if isinstance(item, Recommendation):
        _recommendation(item, scope)
    elif isinstance(item, ControlWorkPlan):
        if item.assignment is not None and not is_writable(item.assignment, scope):
            raise RuleViolation(NOT_YOUR_ASSIGNMENT, "assignment")
    elif isinstance(item, Lesson) and item.id is None:
        _lesson_teacher(item, scope)


def _own_staff(scope: Scope) -> Staff | None:
    return db.session.get(Staff, scope.staff_id) if scope.staff_id else None


def _recommendation(item: Recommendation, scope: Scope) -> None:
    if item.teacher is None:
        item.teacher = _own_staff(scope)
        if item.teacher is None:
            raise RuleViolation(NO_STAFF, "teacher")
    if scope.reads_school:
        return
    if item.teacher.id != scope.staff_id:
        raise RuleViolation(OWN_NAME, "teacher")
    student_id = item.student.id if item.student is not None else item.student_id
    if item.subject is not None and student_id is not None and not teaches(scope, student_id, item.subject.id):
        raise RuleViolation(_l("You do not teach «%(subject)s» to this student.", subject=item.subject.name),
                            "subject")


def _lesson_teacher(item: Lesson, scope: Scope) -> None:
    if item.teacher is None:
        item.teacher = item.assignment.teacher if scope.reads_school and item.assignment else _own_staff(scope)
    if not scope.reads_school and (item.teacher is None or item.teacher.id != scope.staff_id):
        raise RuleViolation(OWN_LESSON, "teacher")
