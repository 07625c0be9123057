"""What each diary message says (docs/exchange.md): payloads built from the journal's rows, the
envelope's student and school blocks, the withdrawal notice and a newly consented student's snapshot."""
import datetime as dt

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    Attendance,
    BellSlot,
    Consent,
    ControlWorkPlan,
    ExamResult,
    FinalGrade,
    FinalStatus,
    Holiday,
    IndividualPlan,
    Lesson,
    LessonChange,
    Mark,
    Recommendation,
    ReportingPeriod,
    School,
    Student,
    StudyGroup,
    TeachingAssignment,
    TimetableEntry,
    stream_student,
    study_group_student,
)
from app.services.calendar import class_period, current_year

SCOPES = (("class_unit", "class"), ("group", "group"), ("stream", "stream"), ("plan", "individual_plan"))
WITHDRAWN = {"withdrawal": "отозвал согласие", "refusal": "отказался дать согласие"}


def _day(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _name(person) -> str | None:
    return person.full_name if person else None


def _mark(m: Mark) -> dict:
    return {"lesson_id": m.lesson_id, "date": _day(m.lesson.date), "subject": m.lesson.assignment.subject.name,
            "work_type": m.work_type.name, "weight": m.work_type.weight, "value": m.value, "comment": m.comment or "",
            "teacher": m.lesson.teacher.full_name, "version": m.version}


def _attendance(a: Attendance) -> dict:
    return {"lesson_id": a.lesson_id, "date": _day(a.lesson.date), "subject": a.lesson.assignment.subject.name,
            "code": a.code.value, "version": a.version}


def _lesson(lesson: Lesson) -> dict:
    return {"date": _day(lesson.date), "slot": lesson.bell_slot.number, "start_time": lesson.bell_slot.start_time,
            "subject": lesson.assignment.subject.name, "teacher": lesson.teacher.full_name, "room": lesson.room or "",
            "topic": lesson.topic or "", "lesson_type": lesson.lesson_type.value, "status": lesson.status.value,
            "homework": lesson.homework or "", "homework_due": _day(lesson.homework_due)}


def _lesson_change(c: LessonChange) -> dict:
    old_slot = db.session.get(BellSlot, c.old_slot_id) if c.old_slot_id else None
    return {"lesson_id": c.lesson_id, "change": c.kind.value, "subject": c.lesson.assignment.subject.name,
            "old_date": _day(c.old_date), "new_date": _day(c.new_date),
            "old_slot": old_slot.number if old_slot else None, "new_slot": c.new_slot.number if c.new_slot else None,
            "old_teacher": _name(c.old_teacher), "new_teacher": _name(c.new_teacher), "reason": c.reason}


def _timetable(e: TimetableEntry) -> dict:
    return {"weekday": e.weekday, "slot": e.bell_slot.number, "start_time": e.bell_slot.start_time,
            "end_time": e.bell_slot.end_time, "subject": e.assignment.subject.name,
            "teacher": e.assignment.teacher.full_name, "room": e.room or "", "valid_from": _day(e.valid_from),
            "valid_to": _day(e.valid_to)}


def _control_work(w: ControlWorkPlan) -> dict:
    return {"date": _day(w.date), "subject": w.assignment.subject.name, "kind": w.kind.value, "topic": w.topic or ""}


def _teachers(a: TeachingAssignment) -> dict:
    scope = next(name for target, name in SCOPES if getattr(a, target) is not None)
    return {"subject": a.subject.name, "teacher": a.teacher.full_name, "scope": scope, "scope_name": str(a.target)}


def _holidays(h: Holiday) -> dict:
    return {"name": h.name, "start": _day(h.start), "end": _day(h.end), "grade": h.grade}


def _recommendation(r: Recommendation) -> dict:
    return {"date": _day(r.date), "subject": r.subject.name if r.subject else None, "teacher": r.teacher.full_name,
            "text": r.text}


def _final_grade(f: FinalGrade) -> dict:
    return {"subject": f.subject.name, "period": f.period.title, "period_kind": f.period.kind.value,
            "status": f.status.value, "value": f.value.value if f.value else None, "result_date": _day(f.result_date),
            "deferral_reason": f.deferral_reason or "", "deferral_deadline": _day(f.deferral_deadline),
            "version": f.version}


def _exam_result(r: ExamResult) -> dict:
    return {"kind": r.kind.value, "name": r.name, "subject": r.subject.name if r.subject else None,
            "date": _day(r.date), "score": r.score, "grade": r.grade or "", "result_date": _day(r.result_date)}


BUILDERS = {
    Mark: ("mark", _mark), Attendance: ("attendance", _attendance), Lesson: ("lesson", _lesson),
    LessonChange: ("lesson_change", _lesson_change), TimetableEntry: ("timetable", _timetable),
    ControlWorkPlan: ("control_work", _control_work), TeachingAssignment: ("teachers", _teachers),
    Holiday: ("holidays", _holidays), Recommendation: ("recommendation", _recommendation),
    FinalGrade: ("final_grade", _final_grade), ExamResult: ("exam_result", _exam_result),
}


def describe(obj, deleted: bool = False) -> tuple[str, dict] | None:
    """(kind, payload) telling families about one journal row, or None when families do not see it
    (a proposed final, a row of another kind). A deleted row says only its id."""
    kind, build = BUILDERS.get(type(obj), (None, None))
    if kind is None or (isinstance(obj, FinalGrade) and obj.status == FinalStatus.proposed):
        return None
    return kind, {"id": obj.id, "deleted": True} if deleted else {"id": obj.id, "deleted": False, **build(obj)}


def student_block(student: Student) -> dict:
    """The envelope's student: id, personal file number, full name, current class."""
    return {"id": student.id, "file_number": student.file_number, "name": student.full_name,
            "class": student.class_unit.name if student.class_unit else None}


def school_block(school: School) -> dict:
    """The envelope's school: id and full name."""
    return {"id": school.id, "name": school.full_name}


def withdrawal(consent: Consent) -> dict:
    """The last message of a family that withdrew (or refused) consent: the portal deletes what it holds."""
    decision = consent.decision.value
    text = (f"Законный представитель {WITHDRAWN[decision]} на обработку персональных данных обучающегося. "
            "Удалите все сведения о нём, полученные от школы.")
    return {"decided_on": _day(consent.decided_on), "decision": decision, "text": text}


def _taught(student: Student, cls, year_id: int):
    """Condition on TeachingAssignment: the year's assignments of the student's class, groups, streams and plans."""
    targets = [
        TeachingAssignment.group_id.in_(select(study_group_student.c.group_id)
                                        .where(study_group_student.c.student_id == student.id)),
        TeachingAssignment.stream_id.in_(select(stream_student.c.stream_id)
                                         .where(stream_student.c.student_id == student.id)),
        TeachingAssignment.plan_id.in_(select(IndividualPlan.id).where(IndividualPlan.student_id == student.id)),
    ]
    if cls is not None:
        targets.append(TeachingAssignment.class_unit_id == cls.id)
    return and_(TeachingAssignment.year_id == year_id, or_(*targets))


def _through_lesson(relation) -> tuple:
    lesson = joinedload(relation)
    return (lesson.joinedload(Lesson.assignment).joinedload(TeachingAssignment.subject),
            lesson.joinedload(Lesson.teacher))


def _assignment(relation, *more) -> tuple:
    return tuple(joinedload(relation).joinedload(r) for r in (TeachingAssignment.subject, *more))


LOADS = {  # what each kind of row needs to be described, loaded with it
    TeachingAssignment: (
        *(joinedload(r) for r in (TeachingAssignment.subject, TeachingAssignment.teacher,
                                  TeachingAssignment.class_unit, TeachingAssignment.stream)),
        joinedload(TeachingAssignment.group).joinedload(StudyGroup.class_unit),
        *(joinedload(TeachingAssignment.plan).joinedload(r) for r in (IndividualPlan.student, IndividualPlan.subject))),
    TimetableEntry: (*_assignment(TimetableEntry.assignment, TeachingAssignment.teacher),
                     joinedload(TimetableEntry.bell_slot)),
    ControlWorkPlan: _assignment(ControlWorkPlan.assignment),
    Lesson: (*_assignment(Lesson.assignment), joinedload(Lesson.teacher), joinedload(Lesson.bell_slot)),
    LessonChange: (*_through_lesson(LessonChange.lesson), joinedload(LessonChange.old_teacher),
                   joinedload(LessonChange.new_teacher), joinedload(LessonChange.new_slot)),
    Mark: (*_through_lesson(Mark.lesson), joinedload(Mark.work_type)),
    Attendance: _through_lesson(Attendance.lesson),
    FinalGrade: (joinedload(FinalGrade.subject), joinedload(FinalGrade.period).joinedload(ReportingPeriod.year)),
    ExamResult: (joinedload(ExamResult.subject),),
    Recommendation: (joinedload(Recommendation.subject), joinedload(Recommendation.teacher)),
}


def _rows(model, *where, order=None) -> list:
    query = select(model).where(*where).options(*LOADS.get(model, ()))
    return db.session.scalars(query.order_by(order if order is not None else model.id)).all()


def snapshot(student: Student, as_of: dt.date) -> dict:
    """The full initial sync of a newly consented student for the academic year holding `as_of`: the
    teachers, timetable (from `as_of` on), holidays and control works of the student's class, groups and
    streams; their lessons (topics, homework) and lesson changes of the current reporting period; the
    student's marks, attendance, decided finals, exam and competition results, recommendations.
    One query per kind of row."""
    year = current_year(student.school_id, as_of)
    if year is None:
        return {"as_of": as_of.isoformat(), "items": []}
    cls = student.class_unit if student.class_unit and student.class_unit.year_id == year.id else None
    mine = select(TeachingAssignment.id).where(_taught(student, cls, year.id))
    period = class_period(year.id, cls, as_of)
    lessons = select(Lesson.id).where(Lesson.assignment_id.in_(mine), Lesson.date.between(period.start, period.end)
                                      if period else false())
    of_year = select(Lesson.id).where(Lesson.date.between(year.start, year.end))
    found = [
        *_rows(BellSlot, BellSlot.school_id == student.school_id),  # no items: the changes' old slots, in the session
        *_rows(TeachingAssignment, TeachingAssignment.id.in_(mine)),
        *_rows(TimetableEntry, TimetableEntry.assignment_id.in_(mine), TimetableEntry.valid_to >= as_of),
        *(h for h in _rows(Holiday, Holiday.year_id == year.id, order=Holiday.start)
          if h.grade is None or (cls is not None and h.applies_to(cls.grade))),
        *_rows(ControlWorkPlan, ControlWorkPlan.assignment_id.in_(mine), order=ControlWorkPlan.date),
        *_rows(Lesson, Lesson.id.in_(lessons), order=Lesson.date),
        *_rows(LessonChange, LessonChange.lesson_id.in_(lessons)),
        *_rows(Mark, Mark.student_id == student.id, Mark.lesson_id.in_(of_year)),
        *_rows(Attendance, Attendance.student_id == student.id, Attendance.lesson_id.in_(of_year)),
        *_rows(FinalGrade, FinalGrade.student_id == student.id, FinalGrade.status != FinalStatus.proposed,
               FinalGrade.period_id.in_(select(ReportingPeriod.id).where(ReportingPeriod.year_id == year.id))),
        *_rows(ExamResult, ExamResult.student_id == student.id, ExamResult.date.between(year.start, year.end)),
        *_rows(Recommendation, Recommendation.student_id == student.id,
               Recommendation.date.between(year.start, year.end)),
    ]
    items = [{"kind": kind, "payload": payload} for kind, payload in filter(None, map(describe, found))]
    return {"as_of": as_of.isoformat(), "items": items}
