"""Накопляемость отметок: per journal and student the marks in the subject against the journal's lessons
held, and who will not reach `MIN_MARKS_FOR_FINAL` by the period's end at the current pace.

Marks are the student's marks in the subject during the period, whichever journal holds them (the one
count the finals use, `results.period_marks`). Lessons held are the journal's held lessons of the period up
to today. Lessons still to come are the journal's timetable slots on the study days after today up to the
period's end (or its planned lessons there, if more). The pace is marks per held lesson, so the expected
count at the end is marks + marks / held × remaining; a student is flagged when that is below the minimum
(not before the journal's first held lesson: there is no pace yet). Journals without 1–5 marks (unmarked
or pass/fail learning) are left out: they owe no minimum."""
import datetime as dt
from collections import Counter, defaultdict
from fractions import Fraction

from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select, union

from app.extensions import db
from app.models import (
    ClassUnit,
    Enrolment,
    IndividualPlan,
    Lesson,
    LessonStatus,
    Staff,
    Student,
    StudyGroup,
    Subject,
    TeachingAssignment,
    TimetableEntry,
    stream_student,
    study_group_student,
)
from app.services import clock
from app.services.assessment import mode_in, rules_of
from app.services.calendar import holidays_of_year, study_days
from app.services.control import Report, Table, person
from app.services.control.filters import ControlFilters, journal_conditions
from app.services.membership import enrolled_between
from app.services.results import min_marks, period_marks

COLUMNS = [("class", _l("Class")), ("subject", _l("Subject")), ("teacher", _l("Teacher")),
           ("student", _l("Student")), ("marks", _l("Marks")), ("held", _l("Lessons held")),
           ("remaining", _l("Lessons to come")), ("expected", _l("Expected marks by the period's end")),
           ("at_risk", _l("Will not reach the minimum"))]


def _journals(f: ControlFilters):
    """(assignment, subject, teacher, target name, grade, scheme) of the journals in the filters."""
    ta, cls = TeachingAssignment, ClassUnit
    class_of = func.coalesce(ta.class_unit_id, StudyGroup.class_unit_id)
    query = (select(ta.id, ta.subject_id, Subject.name.label("subject_name"), Staff.surname,
                    Staff.name.label("teacher_name"), Staff.patronymic, cls.grade, cls.letter, cls.period_kind,
                    StudyGroup.name.label("group_name"), ta.stream_id, ta.plan_id, Subject.pass_fail)
             .select_from(ta).join(Subject, Subject.id == ta.subject_id).join(Staff, Staff.id == ta.teacher_id)
             .outerjoin(StudyGroup, StudyGroup.id == ta.group_id).outerjoin(cls, cls.id == class_of)
             .where(*journal_conditions(f)).order_by(cls.grade, cls.letter, Subject.name, ta.id))
    kind, rules = f.period.kind, rules_of(f.period.school_id)
    return [r for r in db.session.execute(query) if (r.period_kind is None or r.period_kind == kind)
            and not r.pass_fail and mode_in(rules, r.grade, r.subject_id) is None]


def _members(f: ControlFilters, ids: list[int]):
    """(assignment, student) of everyone the journals teach during the period: one UNION statement."""
    ta, p = TeachingAssignment, f.period
    by_class = (select(ta.id, Enrolment.student_id).join(Enrolment, Enrolment.class_unit_id == ta.class_unit_id)
                .where(ta.id.in_(ids), enrolled_between(p.start, p.end)))
    by_group = (select(ta.id, study_group_student.c.student_id)
                .join(study_group_student, study_group_student.c.group_id == ta.group_id).where(ta.id.in_(ids)))
    by_stream = (select(ta.id, stream_student.c.student_id)
                 .join(stream_student, stream_student.c.stream_id == ta.stream_id).where(ta.id.in_(ids)))
    by_plan = (select(ta.id, IndividualPlan.student_id)
               .join(IndividualPlan, IndividualPlan.id == ta.plan_id).where(ta.id.in_(ids)))
    members = union(by_class, by_group, by_stream, by_plan).subquery()
    query = (select(members.c[0], Student.id, Student.surname, Student.name, Student.patronymic)
             .join(Student, Student.id == members.c[1])
             .order_by(Student.surname, Student.name, Student.id))
    return db.session.execute(query).all()


def _lessons(ids: list[int], f: ControlFilters, today: dt.date) -> tuple[Counter, Counter]:
    """Held lessons up to today and planned lessons after it, per journal, in the period."""
    p = f.period
    def counted(condition):
        return func.sum(case((condition, 1), else_=0))

    query = (select(Lesson.assignment_id, counted((Lesson.status == LessonStatus.held) & (Lesson.date <= today)),
                    counted((Lesson.status == LessonStatus.planned) & (Lesson.date > today)))
             .where(Lesson.assignment_id.in_(ids), Lesson.date.between(p.start, p.end))
             .group_by(Lesson.assignment_id))
    held, planned = Counter(), Counter()
    for a_id, held_count, planned_count in db.session.execute(query):
        held[a_id], planned[a_id] = int(held_count or 0), int(planned_count or 0)
    return held, planned


def _timetable_remaining(journals, f: ControlFilters, today: dt.date) -> Counter:
    """Timetable slots of each journal on the study days after today up to the period's end."""
    p, first = f.period, max(today + dt.timedelta(days=1), f.period.start)
    if first > p.end:
        return Counter()
    grades = {r.id: r.grade for r in journals}
    entries = db.session.execute(select(TimetableEntry.assignment_id, TimetableEntry.weekday,
                                        TimetableEntry.valid_from, TimetableEntry.valid_to)
                                 .where(TimetableEntry.assignment_id.in_(list(grades)))).all()
    holidays, days_per_week = holidays_of_year(p.year_id), p.school.study_days_per_week
    days_of: dict[int | None, list[dt.date]] = {}
    remaining = Counter()
    for a_id, weekday, valid_from, valid_to in entries:
        grade = grades[a_id]
        if grade not in days_of:
            days_of[grade] = study_days(first, p.end, grade or 0, holidays, days_per_week)
        remaining[a_id] += sum(1 for d in days_of[grade] if d.weekday() == weekday and valid_from <= d <= valid_to)
    return remaining


def _target(r) -> str:
    if r.grade is None:
        return str(_l("Stream")) if r.stream_id else str(_l("Individual plan"))
    return f"{r.grade}{r.letter}" + (f" {r.group_name}" if r.group_name else "")


def accumulation(f: ControlFilters) -> Report:
    """The accumulation report of the filters' period (the date range is the period's)."""
    today, minimum = clock.today(), min_marks()
    journals = _journals(f)
    ids = [r.id for r in journals]
    rows, flagged = [], []
    if ids:
        held, planned = _lessons(ids, f, today)
        timetable = _timetable_remaining(journals, f, today)
        marks = period_marks(f.period)
        students = defaultdict(list)
        for a_id, *student in _members(f, ids):
            students[a_id].append(student)
        for j in journals:
            remaining = max(timetable[j.id], planned[j.id])
            for sid, surname, name, patronymic in students[j.id]:
                count = marks.get((sid, j.subject_id), (None, 0))[1]
                expected = count + Fraction(count, held[j.id]) * remaining if held[j.id] else None
                row = {"class": _target(j), "subject": j.subject_name,
                       "teacher": person(j.surname, j.teacher_name, j.patronymic),
                       "student": person(surname, name, patronymic), "student_id": sid, "assignment_id": j.id,
                       "marks": count, "held": held[j.id], "remaining": remaining,
                       "expected": None if expected is None else round(float(expected), 1),
                       "at_risk": expected is not None and expected < minimum}
                rows.append(row)
                if row["at_risk"]:
                    flagged.append(row)
    shown = [dict(r, at_risk=_l("yes") if r["at_risk"] else "") for r in rows]
    note = _l("Marks in the subject during the period against the journal's lessons held up to %(today)s; "
              "the minimum for a final is %(minimum)s marks.", today=f"{today:%d.%m.%Y}", minimum=minimum)
    return Report(str(_l("Accumulation of marks")), str(note), [
        Table("at_risk", str(_l("Students who will not reach the minimum of marks at the current pace")), COLUMNS,
              [dict(r, at_risk=_l("yes")) for r in flagged]),
        Table("students", str(_l("Marks per student and subject")), COLUMNS, shown)])
