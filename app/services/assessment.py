"""Безотметочное и зачётное обучение: the one answer to «may this student get 1–5 marks and which
finals in this subject?», asked by the journal, the finals, the forecast and the statistics."""
import datetime as dt
from collections.abc import Iterable

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import AssessmentMode, AssessmentRule, ClassUnit, Enrolment, Student, Subject, TeachingAssignment
from app.models.results import NUMERIC_FINALS, PASS_FAIL_FINALS, SPECIAL_FINALS, FinalValue
from app.services.errors import RuleViolation
from app.services.membership import enrolled_between, grade_of, members_query

Rules = dict[tuple[int, int | None], AssessmentMode]


def rules_of(school_id: int) -> Rules:
    """The school's rules keyed by (grade, subject id or None for the whole grade)."""
    return {(grade, subject_id): mode for grade, subject_id, mode in db.session.execute(
        select(AssessmentRule.grade, AssessmentRule.subject_id, AssessmentRule.mode)
        .where(AssessmentRule.school_id == school_id))}


def mode_in(rules: Rules, grade: int | None, subject_id: int) -> AssessmentMode | None:
    """The mode of a grade in a subject: the subject's rule, else the grade's, else marked (None)."""
    if grade is None:
        return None
    return rules.get((grade, subject_id)) or rules.get((grade, None))


def assignment_mode(assignment: TeachingAssignment) -> AssessmentMode | None:
    """The mode of a journal: its subject in the grade of its class (marked for a mixed stream)."""
    return mode_in(rules_of(assignment.school_id), grade_of(assignment), assignment.subject_id)


def grades_on(student_ids: Iterable[int], day: dt.date) -> dict[int, int]:
    """Student id → the grade of the class they are enrolled in on that day."""
    ids = list(student_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(Enrolment.student_id, ClassUnit.grade)
                              .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
                              .where(Enrolment.student_id.in_(ids), enrolled_between(day, day))
                              .order_by(Enrolment.start))
    return {student_id: grade for student_id, grade in rows}


def student_mode(subject: Subject, student_id: int, day: dt.date) -> tuple[AssessmentMode | None, int | None]:
    """(mode, grade) of the student in the subject on that day, by the grade of their class: the grade and
    the rules that may apply to it in one statement (every mark saved asks)."""
    rule = and_(AssessmentRule.school_id == subject.school_id, AssessmentRule.grade == ClassUnit.grade,
                or_(AssessmentRule.subject_id.is_(None), AssessmentRule.subject_id == subject.id))
    rows = db.session.execute(select(ClassUnit.grade, AssessmentRule.subject_id, AssessmentRule.mode)
                              .select_from(Enrolment).join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
                              .outerjoin(AssessmentRule, rule)
                              .where(Enrolment.student_id == student_id, enrolled_between(day, day))
                              .order_by(Enrolment.start)).all()
    return _mode_of(rows, subject.id)


def _mode_of(rows, subject_id: int) -> tuple[AssessmentMode | None, int | None]:
    """(mode, grade) from the student's enrolments of the day with the rules of their grade."""
    if not rows:
        return None, None
    grade = rows[-1].grade  # the latest enrolment of the day, as grades_on picks
    rules = {(grade, r.subject_id): r.mode for r in rows if r.grade == grade and r.mode is not None}
    return mode_in(rules, grade, subject_id), grade


def taught_and_mode(assignment: TeachingAssignment, student_id: int,
                    day: dt.date) -> tuple[bool, AssessmentMode | None, int | None]:
    """membership.is_member and student_mode in one statement (every mark saved asks both): whether the student
    belongs to the assignment's target that day, and their (mode, grade) in its subject for refuse_marks. Every
    member is enrolled that day, so the student's enrolments of the day carry both answers."""
    enrolment = aliased(Enrolment)
    member = members_query(assignment, day, day).where(Student.id == student_id).order_by(None).correlate(None)
    rule = and_(AssessmentRule.school_id == assignment.school_id, AssessmentRule.grade == ClassUnit.grade,
                or_(AssessmentRule.subject_id.is_(None), AssessmentRule.subject_id == assignment.subject_id))
    rows = db.session.execute(select(ClassUnit.grade, AssessmentRule.subject_id, AssessmentRule.mode, member.exists())
                              .select_from(enrolment).join(ClassUnit, ClassUnit.id == enrolment.class_unit_id)
                              .outerjoin(AssessmentRule, rule)
                              .where(enrolment.student_id == student_id, enrolment.start <= day,
                                     or_(enrolment.end.is_(None), enrolment.end >= day))
                              .order_by(enrolment.start)).all()
    mode, grade = _mode_of(rows, assignment.subject_id)
    return bool(rows and rows[0][3]), mode, grade


def check_marks_allowed(subject: Subject, student_id: int, day: dt.date) -> None:
    """Refuse a 1–5 mark where the student's grade learns the subject unmarked or pass/fail."""
    refuse_marks(subject, *student_mode(subject, student_id, day))


def refuse_marks(subject: Subject, mode: AssessmentMode | None, grade: int | None) -> None:
    """check_marks_allowed once the student's (mode, grade) are known."""
    if mode == AssessmentMode.unmarked:
        raise RuleViolation(_l("%(subject)s in grade %(grade)s is taught without marks: attendance, topics "
                               "and homework are kept, 1–5 marks are not.", subject=subject.name, grade=grade),
                            "value")
    if mode == AssessmentMode.pass_fail:
        raise RuleViolation(_l("%(subject)s in grade %(grade)s is assessed pass/fail: 1–5 marks are not given.",
                               subject=subject.name, grade=grade), "value")


def final_values(subject: Subject, mode: AssessmentMode | None) -> tuple[FinalValue, ...]:
    """The finals a student may get: none when unmarked; зач/незач when pass/fail (by a rule or the
    subject itself), else 5/4/3/2; н/а and осв wherever finals are given."""
    if mode == AssessmentMode.unmarked:
        return ()
    pass_fail = mode == AssessmentMode.pass_fail or subject.pass_fail
    return (PASS_FAIL_FINALS if pass_fail else NUMERIC_FINALS) + SPECIAL_FINALS


def unmarked_error(subject: Subject, grade: int | None) -> RuleViolation:
    """The refusal of a final where learning is unmarked."""
    return RuleViolation(_l("%(subject)s in grade %(grade)s is taught without marks: no final is given.",
                            subject=subject.name, grade=grade), "value")


def is_pass_fail(subject: Subject, mode: AssessmentMode | None) -> bool:
    """Whether finals are зач/незач (kept apart from качество, СОУ and the average)."""
    return mode == AssessmentMode.pass_fail or (mode is None and subject.pass_fail)
