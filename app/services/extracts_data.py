"""What a progress extract holds (SPEC §7): per subject the marks with dates, the weighted average
and the final; attendance totals; and the regulation's sections for a date range. Plain data."""
import datetime as dt
from collections import defaultdict

from sqlalchemy import and_, func, or_, select

from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    ClassUnit,
    ControlWorkPlan,
    Enrolment,
    FinalGrade,
    FinalStatus,
    Holiday,
    IndividualPlan,
    Lesson,
    LessonChange,
    LessonStatus,
    Mark,
    Recommendation,
    ReportingPeriod,
    Student,
    Subject,
    TeachingAssignment,
    TimetableEntry,
    WorkType,
    stream_student,
    study_group_student,
)
from app.models.journal import MISSED_CODES
from app.services.membership import enrolled_between
from app.services.results import period_marks
from app.services.summary import class_subjects

SECTIONS = ("timetable", "changes", "control", "teachers", "holidays", "homework", "recommendations")
MARKS_PER_ROW = 36  # a longer list continues on the next row: a row never outgrows a page
WEEKDAYS = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб")
CHANGE_KINDS = {"substitution": "замена", "rescheduling": "перенос", "cancellation": "отмена"}


def final_text(grade: FinalGrade | None) -> str:
    """The final as the extract prints it: the value, «отсрочка до dd.mm.yyyy», or a dash."""
    if grade is None or grade.status == FinalStatus.proposed:
        return "—"
    if grade.status == FinalStatus.deferred:
        return f"отсрочка до {grade.deferral_deadline:%d.%m.%Y}" if grade.deferral_deadline else "отсрочка"
    return grade.value.value if grade.value else "—"


def class_of(student: Student, period: ReportingPeriod) -> ClassUnit | None:
    """The student's class in the period (the latest enrolment overlapping it)."""
    return db.session.scalar(select(ClassUnit).join(Enrolment, Enrolment.class_unit_id == ClassUnit.id).where(
        Enrolment.student_id == student.id, enrolled_between(period.start, period.end))
        .order_by(Enrolment.start.desc()).limit(1))


def _assignments(student: Student, cls: ClassUnit | None):
    """Condition on TeachingAssignment: the student's class, groups, streams and individual plans."""
    return or_(
        TeachingAssignment.class_unit_id == (cls.id if cls else 0),
        TeachingAssignment.group_id.in_(select(study_group_student.c.group_id)
                                        .where(study_group_student.c.student_id == student.id)),
        TeachingAssignment.stream_id.in_(select(stream_student.c.stream_id)
                                         .where(stream_student.c.student_id == student.id)),
        TeachingAssignment.plan_id.in_(select(IndividualPlan.id).where(IndividualPlan.student_id == student.id)))


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def subject_rows(student: Student, cls: ClassUnit | None, period: ReportingPeriod) -> list[dict]:
    """Per subject: marks «5 (01.09)», weighted average, missed lessons, final; long lists wrap to rows."""
    marks = db.session.execute(
        select(TeachingAssignment.subject_id, Lesson.date, Mark.value, WorkType.weight)
        .join(Lesson, Lesson.id == Mark.lesson_id)
        .join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
        .join(WorkType, WorkType.id == Mark.work_type_id)
        .where(Mark.student_id == student.id, Lesson.status != LessonStatus.cancelled,
               Lesson.date.between(period.start, period.end)).order_by(Lesson.date, Lesson.id)).all()
    by_subject = defaultdict(list)
    for subject_id, day, value, weight in marks:
        by_subject[subject_id].append(f"{value}{'*' if weight > 1 else ''} ({day:%d.%m})")
    missed = dict(db.session.execute(
        select(TeachingAssignment.subject_id, func.count(Attendance.id))
        .join(Lesson, Lesson.id == Attendance.lesson_id).join(TeachingAssignment)
        .where(Attendance.student_id == student.id, Attendance.code.in_(MISSED_CODES),
               Lesson.status != LessonStatus.cancelled, Lesson.date.between(period.start, period.end))
        .group_by(TeachingAssignment.subject_id)).all())
    averages = period_marks(period, student_ids=[student.id])
    finals = {g.subject_id: g for g in db.session.scalars(select(FinalGrade).where(
        FinalGrade.student_id == student.id, FinalGrade.period_id == period.id))}
    subjects = class_subjects(cls, [student.id], [period.id]) if cls else []
    extra = (set(by_subject) | set(finals)) - {s.id for s in subjects}
    if extra:
        subjects += db.session.scalars(select(Subject).where(Subject.id.in_(extra))).all()
    rows = []
    for subj in sorted(subjects, key=lambda s: s.name):
        average = averages.get((student.id, subj.id), (None, 0))[0]
        for n, chunk in enumerate(_chunks(by_subject.get(subj.id, []), MARKS_PER_ROW)):
            rows.append({"subject": subj.name if n == 0 else "", "marks": ", ".join(chunk), "first": n == 0,
                         "average": f"{average:.2f}".replace(".", ",") if average is not None and n == 0 else "",
                         "missed": missed.get(subj.id, 0) if n == 0 else "",
                         "final": final_text(finals.get(subj.id)) if n == 0 else ""})
    return rows


def attendance_totals(student: Student, period: ReportingPeriod) -> dict:
    """Missed lessons (Н, Б, УП) in the period, of them by illness (Б), and lateness (ОП)."""
    rows = dict(db.session.execute(
        select(Attendance.code, func.count(Attendance.id)).join(Lesson, Lesson.id == Attendance.lesson_id)
        .where(Attendance.student_id == student.id, Lesson.status != LessonStatus.cancelled,
               Lesson.date.between(period.start, period.end)).group_by(Attendance.code)).all())
    return {"missed": sum(rows.get(c, 0) for c in MISSED_CODES), "ill": rows.get(AttendanceCode.ill, 0),
            "late": rows.get(AttendanceCode.late, 0)}


def sections_data(student: Student, cls: ClassUnit | None, period: ReportingPeriod, sections: list[str],
                  start: dt.date, end: dt.date) -> dict:
    """The chosen optional sections for the date range."""
    mine = _assignments(student, cls)
    lessons_in_range = select(Lesson.id).join(TeachingAssignment).where(mine, Lesson.date.between(start, end))
    out: dict = {}
    if "timetable" in sections:
        entries = db.session.scalars(select(TimetableEntry).join(TeachingAssignment).where(
            mine, TimetableEntry.valid_from <= end, TimetableEntry.valid_to >= start)).all()
        out["timetable"] = [{"day": WEEKDAYS[e.weekday] if e.weekday < 6 else str(e.weekday + 1),
                             "slot": e.bell_slot, "subject": e.assignment.subject.name,
                             "teacher": e.assignment.teacher.short_name, "room": e.room}
                            for e in sorted(entries, key=lambda e: (e.weekday, e.bell_slot.number))]
    if "changes" in sections:
        changes = db.session.scalars(select(LessonChange).where(LessonChange.lesson_id.in_(lessons_in_range))
                                     .order_by(LessonChange.old_date, LessonChange.id)).all()
        out["changes"] = [{"date": c.old_date, "kind": CHANGE_KINDS.get(c.kind.value, c.kind.value),
                           "subject": c.lesson.assignment.subject.name, "new_date": c.new_date,
                           "teacher": c.new_teacher.short_name if c.new_teacher else "", "reason": c.reason}
                          for c in changes]
    if "control" in sections:
        out["control"] = db.session.scalars(select(ControlWorkPlan).join(TeachingAssignment).where(
            mine, ControlWorkPlan.date.between(start, end)).order_by(ControlWorkPlan.date)).all()
    if "teachers" in sections:
        assignments = db.session.scalars(select(TeachingAssignment).where(
            mine, TeachingAssignment.year_id == period.year_id)).all()
        out["teachers"] = sorted({(a.subject.name, a.teacher.full_name) for a in assignments})
    if "holidays" in sections:
        holidays = db.session.scalars(select(Holiday).where(
            Holiday.year_id == period.year_id, Holiday.start <= end, Holiday.end >= start)
            .order_by(Holiday.start)).all()
        out["holidays"] = [h for h in holidays if cls is None or h.applies_to(cls.grade)]
    if "homework" in sections:
        out["homework"] = db.session.scalars(select(Lesson).where(
            Lesson.id.in_(lessons_in_range), Lesson.homework != "", Lesson.status != LessonStatus.cancelled)
            .order_by(Lesson.date, Lesson.id)).all()
    if "recommendations" in sections:
        out["recommendations"] = db.session.scalars(select(Recommendation).where(
            and_(Recommendation.student_id == student.id, Recommendation.date.between(start, end)))
            .order_by(Recommendation.date)).all()
    return out


def extract_data(student: Student, period: ReportingPeriod, sections: list[str], start: dt.date,
                 end: dt.date) -> dict:
    """Everything one extract shows (the number and date are added when printing)."""
    cls = class_of(student, period) or student.class_unit
    return {"student": student, "class": cls, "period": period, "school": student.school,
            "subjects": subject_rows(student, cls, period), "attendance": attendance_totals(student, period),
            "sections": sections_data(student, cls, period, sections, start, end), "chosen": sections,
            "start": start, "end": end,
            "class_teacher": cls.class_teacher.short_name if cls and cls.class_teacher else ""}
