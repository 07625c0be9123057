"""Finals that differ from the proposed final: the period's final grades whose value is not the grade the
marks proposed (only where there was a proposal: pass/fail and too-few-marks finals have none), with the
teacher's reason (`FinalGrade.decision_reason`) and who decided."""
from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, exists, func, select

from app.extensions import db
from app.models import ClassUnit, Enrolment, FinalGrade, FinalStatus, Staff, Student, Subject
from app.security.scope import visible_clause
from app.services.control import Report, Table, person
from app.services.control.filters import ControlFilters
from app.services.membership import enrolled_between
from app.services.stats import taught

COLUMNS = [("class", _l("Class")), ("student", _l("Student")), ("subject", _l("Subject")),
           ("teacher", _l("Teacher")), ("average", _l("Average")), ("proposed", _l("Proposed final")),
           ("value", _l("Final")), ("direction", _l("Change")), ("reason", _l("Reason of the teacher")),
           ("decided_by", _l("Decided by"))]


def _query(f: ControlFilters):
    p, fg = f.period, FinalGrade
    t = taught(p, "taught_by")
    teacher = (select(func.min(t.c.teacher_id)).where(t.c.student_id == fg.student_id, t.c.subject_id == fg.subject_id)
               .scalar_subquery())
    query = (select(fg.id, fg.average, fg.proposed_value, fg.value, fg.decision_reason, fg.decided_by,
                    ClassUnit.grade, ClassUnit.letter, Student.surname, Student.name, Student.patronymic,
                    Subject.name.label("subject_name"), teacher.label("teacher_id"))
             .select_from(fg).join(Student, Student.id == fg.student_id).join(Subject, Subject.id == fg.subject_id)
             .outerjoin(Enrolment, and_(Enrolment.student_id == fg.student_id, enrolled_between(p.end, p.end)))
             .outerjoin(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
             .where(fg.period_id == p.id, fg.status == FinalStatus.final, fg.proposed_value.is_not(None),
                    fg.value.is_not(None), fg.value != fg.proposed_value)
             .order_by(ClassUnit.grade, ClassUnit.letter, Student.surname, Student.name, Subject.name, fg.id))
    clause = visible_clause(FinalGrade, f.scope)
    if clause is not None:
        query = query.where(clause)
    if f.class_id is not None:
        query = query.where(ClassUnit.id == f.class_id)
    if f.subject_id is not None:
        query = query.where(fg.subject_id == f.subject_id)
    if f.teacher_id is not None:
        query = query.where(exists().where(t.c.student_id == fg.student_id, t.c.subject_id == fg.subject_id,
                                           t.c.teacher_id == f.teacher_id))
    return query


def _direction(proposed, value) -> str:
    if proposed.number is None or value.number is None:
        return str(_l("other"))
    return str(_l("up")) if value.number > proposed.number else str(_l("down"))


def overrides(f: ControlFilters) -> Report:
    """Finals of the filters' period that differ from the proposal."""
    found = db.session.execute(_query(f)).all()
    teachers = {s.id: s.short_name for s in db.session.scalars(
        select(Staff).where(Staff.id.in_({r.teacher_id for r in found if r.teacher_id})))}
    rows = [{"final_id": r.id, "class": f"{r.grade}{r.letter}" if r.grade else "",
             "student": person(r.surname, r.name, r.patronymic), "subject": r.subject_name,
             "teacher": teachers.get(r.teacher_id, ""), "average": r.average, "proposed": r.proposed_value.value,
             "value": r.value.value, "direction": _direction(r.proposed_value, r.value),
             "reason": r.decision_reason or str(_l("no reason given")), "decided_by": r.decided_by} for r in found]
    note = _l("%(count)s final grades of %(period)s differ from the grade the marks proposed.",
              count=len(rows), period=f.period.title)
    return Report(str(_l("Finals that differ from the proposal")), str(note),
                  [Table("finals", str(_l("Final grades")), COLUMNS, rows)])
