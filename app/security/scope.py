"""Row-level scope: which rows of which school the current user may see.

One rule per model, used by the views' base filters, the add/edit guards, the REST APIs and the
services, so that a row hidden in one place is hidden everywhere.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import has_request_context, request
from flask_appbuilder.security.sqla.models import Role, User
from sqlalchemy import Integer, and_, exists, false, null, or_, select, true, union_all

from app.extensions import db
from app.models import (
    AcademicYear,
    AssessmentRule,
    Attendance,
    AuditEvent,
    BellSlot,
    ClassUnit,
    Consent,
    ContactPoint,
    ControlWorkPlan,
    CurriculumItem,
    DeliveryPreference,
    Enrolment,
    ExamResult,
    FinalGrade,
    Guardian,
    Holiday,
    IndividualPlan,
    Lesson,
    LessonChange,
    Mark,
    Notification,
    Recommendation,
    ReportingPeriod,
    School,
    Staff,
    Stream,
    Student,
    StudentGuardian,
    StudyGroup,
    Subject,
    TeachingAssignment,
    TimetableEntry,
    WorkType,
    stream_student,
    study_group_student,
)
from app.security.roles import ALL_SCHOOLS, READS_SCHOOL, ROLE_ADMIN, capabilities
from app.security.sessions import staff_read_with


@dataclass(frozen=True)
class Scope:
    """What one user may see; `everything` is the deployment admin."""

    user_id: int | None = None
    school_id: int | None = None
    staff_id: int | None = None
    everything: bool = False
    whole_school: bool = False
    class_ids: frozenset[int] = field(default_factory=frozenset)
    homeroom_ids: frozenset[int] = field(default_factory=frozenset)
    partial_class_ids: frozenset[int] = field(default_factory=frozenset)
    group_ids: frozenset[int] = field(default_factory=frozenset)
    stream_ids: frozenset[int] = field(default_factory=frozenset)
    plan_ids: frozenset[int] = field(default_factory=frozenset)

    @property
    def reads_school(self) -> bool:
        """Administration, registrar, auditor and the admin read every row of the school."""
        return self.everything or self.whole_school


NOBODY = Scope()


def _staff_scope(user) -> tuple[Scope, Staff | None]:
    """The scope a user's roles and staff record alone decide, and the staff record (read with the request's
    user by sessions.user_and_epoch; one statement otherwise)."""
    if user is None or not getattr(user, "is_authenticated", True) or not getattr(user, "id", None):
        return NOBODY, None
    can = capabilities(user.roles)
    read, staff = staff_read_with(user.id)  # the request's user came with their staff record
    if not read:
        staff = db.session.scalar(select(Staff).where(Staff.user_id == user.id))
    if ALL_SCHOOLS in can and staff is None:
        return Scope(user_id=user.id, everything=True), None
    if staff is None:
        return Scope(user_id=user.id), None
    return Scope(user.id, staff.school_id, staff.id, whole_school=READS_SCHOOL in can), staff


def writer_scope(user) -> Scope:
    """The scope of one write that checks a row against the writer's school and staff record only (the journal's
    entries): without the classes, groups and streams the user sees, which a write does not read."""
    return _staff_scope(user)[0]


def scope_for_user(user) -> Scope:
    """Build the scope of a login user from their roles, staff record and assignments."""
    scope, staff = _staff_scope(user)
    if staff is None or scope.whole_school:
        return scope
    nothing = null().cast(Integer)  # the assignments and the homeroom classes in one statement: a union
    rows = db.session.execute(union_all(  # of rows (class, group, stream, plan, group's class, homeroom)
        select(
            TeachingAssignment.class_unit_id, TeachingAssignment.group_id,
            TeachingAssignment.stream_id, TeachingAssignment.plan_id, StudyGroup.class_unit_id, nothing,
        )
        .outerjoin(StudyGroup, StudyGroup.id == TeachingAssignment.group_id)
        .where(TeachingAssignment.teacher_id == staff.id),
        select(nothing, nothing, nothing, nothing, nothing, ClassUnit.id).where(ClassUnit.class_teacher_id == staff.id),
    )).all()
    pick = lambda i: frozenset(r[i] for r in rows if r[i] is not None)  # noqa: E731
    homeroom = pick(5)
    classes = pick(0) | homeroom
    return Scope(
        user.id, staff.school_id, staff.id, class_ids=classes, homeroom_ids=homeroom,
        partial_class_ids=pick(4) - classes, group_ids=pick(1), stream_ids=pick(2), plan_ids=pick(3),
    )


def current_scope() -> Scope:
    """The scope of the user of this request (cached per request); nobody outside one."""
    if not has_request_context():
        return NOBODY
    environ = request.environ  # per request, even when an outer app context (and its g) is reused
    if "school.scope" not in environ:
        from flask import current_app

        environ["school.scope"] = scope_for_user(current_app.appbuilder.sm.current_user)
    return environ["school.scope"]


def _in(column, ids):
    return column.in_(sorted(ids)) if ids else false()


def visible_students(scope: Scope):
    """Condition on Student: enrolled in a full class, or taught in a group, stream or plan."""
    return or_(
        Student.id.in_(select(Enrolment.student_id).where(_in(Enrolment.class_unit_id, scope.class_ids))),
        Student.id.in_(
            select(study_group_student.c.student_id).where(_in(study_group_student.c.group_id, scope.group_ids))
        ),
        Student.id.in_(
            select(stream_student.c.student_id).where(_in(stream_student.c.stream_id, scope.stream_ids))
        ),
        Student.id.in_(select(IndividualPlan.student_id).where(_in(IndividualPlan.id, scope.plan_ids))),
    )


def _teaches(scope: Scope, student_column, subject_column):
    """Condition: one of the scope's own assignments teaches that subject to that student. The inner
    selects name the student's table as correlated: two levels down, SQLAlchemy would otherwise add it
    to their FROM (a cross join that let a teacher see every final of their subject in the school)."""
    outer = getattr(student_column, "table", None)

    def of_student(query):
        return query if outer is None else query.correlate(outer)

    return exists(select(TeachingAssignment.id).where(
        TeachingAssignment.teacher_id == scope.staff_id, TeachingAssignment.subject_id == subject_column,
        or_(TeachingAssignment.class_unit_id.in_(
                of_student(select(Enrolment.class_unit_id).where(Enrolment.student_id == student_column))),
            TeachingAssignment.group_id.in_(of_student(select(study_group_student.c.group_id).where(
                study_group_student.c.student_id == student_column))),
            TeachingAssignment.stream_id.in_(of_student(select(stream_student.c.stream_id).where(
                stream_student.c.student_id == student_column))),
            TeachingAssignment.plan_id.in_(of_student(select(IndividualPlan.id).where(
                IndividualPlan.student_id == student_column))))))


def _homeroom_students(scope: Scope):
    return Student.id.in_(select(Enrolment.student_id).where(_in(Enrolment.class_unit_id, scope.homeroom_ids)))


# Teacher-level narrowing per school-owned model (the school-wide reference data is SCHOOL_WIDE below).
_TEACHER_RULES = {
    ClassUnit: lambda s: _in(ClassUnit.id, s.class_ids | s.partial_class_ids),
    StudyGroup: lambda s: or_(_in(StudyGroup.id, s.group_ids), _in(StudyGroup.class_unit_id, s.class_ids)),
    Stream: lambda s: _in(Stream.id, s.stream_ids),
    IndividualPlan: lambda s: or_(
        _in(IndividualPlan.id, s.plan_ids),
        IndividualPlan.student_id.in_(select(Student.id).where(visible_students(s))),
    ),
    Student: visible_students,
    Enrolment: lambda s: Enrolment.student_id.in_(select(Student.id).where(visible_students(s))),
    TeachingAssignment: lambda s: or_(
        TeachingAssignment.teacher_id == s.staff_id, _in(TeachingAssignment.class_unit_id, s.class_ids),
        TeachingAssignment.group_id.in_(select(StudyGroup.id).where(_in(StudyGroup.class_unit_id, s.homeroom_ids))),
    ),
    CurriculumItem: lambda s: _in(CurriculumItem.class_unit_id, s.class_ids | s.partial_class_ids),
    Guardian: lambda s: Guardian.id.in_(
        select(StudentGuardian.guardian_id).join(Student).where(_homeroom_students(s))
    ),
    StudentGuardian: lambda s: StudentGuardian.student_id.in_(select(Student.id).where(_homeroom_students(s))),
}


def _visible_users(scope: Scope):
    """Logins of the school's staff, and logins not linked to anyone yet (never the deployment admin)."""
    linked = select(Staff.user_id).where(Staff.user_id.is_not(None))
    return or_(
        User.id.in_(select(Staff.user_id).where(Staff.school_id == scope.school_id)),
        ~User.id.in_(linked) & ~User.roles.any(Role.name == ROLE_ADMIN),
    )


def _visible_assignments(s: Scope):
    return select(TeachingAssignment.id).where(
        TeachingAssignment.school_id == s.school_id, _TEACHER_RULES[TeachingAssignment](s))


def _visible_lessons(s: Scope):
    return select(Lesson.id).where(Lesson.school_id == s.school_id, or_(
        Lesson.assignment_id.in_(_visible_assignments(s)), Lesson.teacher_id == s.staff_id))


def _homeroom_plans(s: Scope):
    return select(IndividualPlan.id).where(IndividualPlan.student_id.in_(
        select(Enrolment.student_id).where(_in(Enrolment.class_unit_id, s.homeroom_ids))))


def _journal_assignments(s: Scope):
    """The journals (assignment: target × subject) a teacher reads: their own, every journal of their
    homeroom class (its groups and its students' plans too), and those they substitute in."""
    return select(TeachingAssignment.id).where(TeachingAssignment.school_id == s.school_id, or_(
        TeachingAssignment.teacher_id == s.staff_id,
        _in(TeachingAssignment.class_unit_id, s.homeroom_ids),
        TeachingAssignment.group_id.in_(select(StudyGroup.id).where(_in(StudyGroup.class_unit_id, s.homeroom_ids))),
        TeachingAssignment.plan_id.in_(_homeroom_plans(s)),
        TeachingAssignment.id.in_(select(Lesson.assignment_id).where(Lesson.teacher_id == s.staff_id))))


def _journal_lessons(s: Scope):
    return select(Lesson.id).where(Lesson.school_id == s.school_id, or_(
        Lesson.assignment_id.in_(_journal_assignments(s)), Lesson.teacher_id == s.staff_id))


def journal_clause(scope: Scope):
    """Condition on TeachingAssignment: the journals whose marks, attendance and finals the scope reads
    (None: all). A teacher sees a class's other subjects in the timetable, never their journals."""
    if scope.everything:
        return None
    if scope.school_id is None:
        return false()
    if scope.reads_school:
        return TeachingAssignment.school_id == scope.school_id
    # The school again outside the subquery: without it PostgreSQL joins every school's assignments first.
    return and_(TeachingAssignment.school_id == scope.school_id, TeachingAssignment.id.in_(_journal_assignments(scope)))


def reads_journal(scope: Scope, column: str, target_id: int, subject_id: int | None) -> bool:
    """Whether the scope reads the journal of a target (`class_unit_id`, `group_id`, … = id) in a subject
    (in any subject when None)."""
    query = select(TeachingAssignment.id).where(getattr(TeachingAssignment, column) == target_id)
    if subject_id is not None:
        query = query.where(TeachingAssignment.subject_id == subject_id)
    clause = journal_clause(scope)
    return db.session.scalar((query if clause is None else query.where(clause)).limit(1)) is not None


def families_clause(scope: Scope):
    """Condition on Student: whose families' decisions, contacts and notices the scope reads (the
    whole school, or a class teacher's own class)."""
    if scope.everything:
        return None
    if scope.school_id is None:
        return false()
    if scope.reads_school:
        return Student.school_id == scope.school_id
    return _homeroom_students(scope)


_TEACHER_RULES.update({
    TimetableEntry: lambda s: TimetableEntry.assignment_id.in_(_visible_assignments(s)),
    ControlWorkPlan: lambda s: ControlWorkPlan.assignment_id.in_(_visible_assignments(s)),
    Lesson: lambda s: Lesson.id.in_(_visible_lessons(s)),
    LessonChange: lambda s: LessonChange.lesson_id.in_(_visible_lessons(s)),
    Mark: lambda s: Mark.lesson_id.in_(_journal_lessons(s)),
    Attendance: lambda s: Attendance.lesson_id.in_(_journal_lessons(s)),
    Recommendation: lambda s: or_(Recommendation.teacher_id == s.staff_id,
                                  Recommendation.student_id.in_(select(Student.id).where(visible_students(s)))),
})
_TEACHER_RULES.update({
    Consent: lambda s: Consent.student_id.in_(select(Student.id).where(_homeroom_students(s))),
    DeliveryPreference: lambda s: DeliveryPreference.student_id.in_(select(Student.id).where(_homeroom_students(s))),
    ContactPoint: lambda s: ContactPoint.guardian_id.in_(
        select(StudentGuardian.guardian_id).join(Student).where(_homeroom_students(s))),
    AuditEvent: lambda s: false(),
    FinalGrade: lambda s: or_(FinalGrade.student_id.in_(select(Student.id).where(_homeroom_students(s))),
                              _teaches(s, FinalGrade.student_id, FinalGrade.subject_id)),
    ExamResult: lambda s: ExamResult.student_id.in_(select(Student.id).where(visible_students(s))),
    Notification: lambda s: Notification.student_id.in_(select(Student.id).where(_homeroom_students(s))),
})
# School-owned models every teacher reads whole: the school's reference data. A school-owned model
# neither here nor in _TEACHER_RULES is hidden from teachers (the filter fails closed).
SCHOOL_WIDE = (AcademicYear, ReportingPeriod, Holiday, BellSlot, Subject, WorkType, Staff, AssessmentRule)


def visible_clause(model, scope: Scope):
    """SQL condition selecting the rows of `model` the scope may see (None: no restriction)."""
    if scope.everything:
        return None
    if model is School:
        return School.id == scope.school_id if scope.school_id else false()
    if model is User:
        return _visible_users(scope) if scope.school_id else false()
    if not hasattr(model, "school_id"):
        return None
    if scope.school_id is None:
        return false()
    same_school = model.school_id == scope.school_id
    if scope.reads_school or model in SCHOOL_WIDE:
        return same_school
    rule = _TEACHER_RULES.get(model)
    return same_school & (false() if rule is None else rule(scope))  # no rule: a teacher sees none of it


def is_visible(obj, scope: Scope) -> bool:
    """Whether one loaded row is inside the scope (used by guards on related objects)."""
    model = type(obj)
    clause = visible_clause(model, scope)
    if clause is None:
        return True
    found = db.session.scalar(select(true()).select_from(model).where(model.id == obj.id, clause))
    return bool(found)


def _own_assignments(s: Scope):
    return select(TeachingAssignment.id).where(TeachingAssignment.teacher_id == s.staff_id)


# What a teacher may write, narrower than what they read: their own assignments, lessons (also those a
# substitution gave them), control works, recommendations, and the subjects they teach. The
# administration writes for any teacher of its school (its scope reads the whole school).
_OWN_WRITES = {
    TeachingAssignment: lambda s: TeachingAssignment.teacher_id == s.staff_id,
    Staff: lambda s: Staff.id == s.staff_id,
    Subject: lambda s: Subject.id.in_(select(TeachingAssignment.subject_id).where(
        TeachingAssignment.teacher_id == s.staff_id)),
    Lesson: lambda s: or_(Lesson.teacher_id == s.staff_id, Lesson.assignment_id.in_(_own_assignments(s))),
    ControlWorkPlan: lambda s: ControlWorkPlan.assignment_id.in_(_own_assignments(s)),
    Recommendation: lambda s: Recommendation.teacher_id == s.staff_id,
}


def writable_clause(model, scope: Scope):
    """SQL condition selecting the rows of `model` the scope may write or link a write to (None: any)."""
    clause = visible_clause(model, scope)
    rule = _OWN_WRITES.get(model)
    if rule is None or scope.reads_school:
        return clause
    return rule(scope) if clause is None else clause & rule(scope)


def is_writable(obj, scope: Scope) -> bool:
    """Whether one row, as stored, is the scope's to write (or to link a write to)."""
    model = type(obj)
    clause = writable_clause(model, scope)
    if clause is None:
        return True
    return bool(db.session.scalar(select(true()).select_from(model).where(model.id == obj.id, clause)))


def teaches(scope: Scope, student_id: int, subject_id: int) -> bool:
    """Whether one of the scope's own assignments teaches that subject to that student."""
    return bool(db.session.scalar(select(_teaches(scope, student_id, subject_id))))
