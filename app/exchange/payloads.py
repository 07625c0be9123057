"""What each diary message says (docs/exchange.md): payloads built from the journal's rows, the
envelope's student and school blocks, the withdrawal notice and a newly consented student's snapshot."""
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import Session, joinedload

from app.extensions import db
from app.models import (
    AcademicYear,
    Attendance,
    BellSlot,
    ClassUnit,
    Consent,
    ControlWorkPlan,
    Enrolment,
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
from app.services.membership import enrolled_between, members_query

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


def student_block(student: Student) -> dict:
    """The envelope's student: id, personal file number, full name, current class."""
    return student_fields(student.id, student.file_number, student.full_name,
                          student.class_unit.name if student.class_unit else None)


def student_fields(student_id: int, file_number: str | None, full_name: str, class_name: str | None) -> dict:
    """The envelope's student block from its values (the exchange job reads them as plain columns)."""
    return {"id": student_id, "file_number": file_number, "name": full_name, "class": class_name}


def school_block(school: School) -> dict:
    """The envelope's school: id and full name."""
    return school_fields(school.id, school.full_name)


def school_fields(school_id: int, full_name: str) -> dict:
    """The envelope's school block from its values."""
    return {"id": school_id, "name": full_name}


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


def _rows(model, *where, order=None) -> list:
    query = select(model).where(*where).options(*(KINDS[model].loads if model in KINDS else ()))
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
    _rows(BellSlot, BellSlot.school_id == student.school_id)  # no items: the changes' old slots, in the session
    sync = Sync(student, year, cls, as_of, mine, lessons, of_year)
    found = [row for kind in KINDS.values() for row in kind.initial(sync)]
    items = [{"kind": kind, "payload": payload} for kind, payload in filter(None, map(describe, found))]
    return {"as_of": as_of.isoformat(), "items": items}


@dataclass(frozen=True)
class Sync:
    """What a newly consented student's initial sync covers: their year, class, assignments and lessons."""

    student: Student
    year: AcademicYear
    cls: ClassUnit | None
    as_of: dt.date
    mine: Select  # ids of the assignments teaching the student
    lessons: Select  # ids of their lessons in the current period
    of_year: Select  # ids of the year's lessons


def _members(session: Session, assignment: TeachingAssignment | None, start: dt.date, end: dt.date) -> set[int]:
    if assignment is None:
        return set()
    return {s.id for s in session.scalars(members_query(assignment, start, end))}


def _holiday_students(session: Session, h: Holiday, _today: dt.date) -> set[int]:
    query = select(Enrolment.student_id).join(Student, Student.id == Enrolment.student_id).where(
        Student.school_id == h.school_id, enrolled_between(h.start, h.end))
    if h.grade is not None:
        query = query.join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id).where(ClassUnit.grade == h.grade)
    return set(session.scalars(query))


def _own_student(_session: Session, obj, _today: dt.date) -> set[int]:
    return {obj.student_id} if obj.student_id else set()


def _on_lesson_day(session: Session, obj, _today: dt.date) -> set[int]:
    return _members(session, obj.assignment, obj.date, obj.date)


def _timetable_students(session: Session, e: TimetableEntry, today: dt.date) -> set[int]:
    return _members(session, e.assignment, max(e.valid_from, today), max(e.valid_to, today))


def _teachers_students(session: Session, a: TeachingAssignment, today: dt.date) -> set[int]:
    start = max(today, a.year.start)  # the class's teachers for the rest of its year
    return _members(session, a, start, max(a.year.end, start))


@dataclass(frozen=True)
class MessageKind:
    """One kind of diary message (docs/exchange.md): the journal row it tells of, its payload, the
    students whose families read it, what to load with the row, what the initial sync sends of it,
    which rows families do not see yet and which they are also notified of by their channel."""

    name: str
    build: Callable[[Any], dict]
    audience: Callable[[Session, Any, dt.date], set[int]]
    loads: tuple = ()
    initial: Callable[[Sync], list] = lambda _sync: []
    told: Callable[[Any], bool] = lambda _row: True
    notable: Callable[[Any], bool] = lambda _row: False


def _decided(f: FinalGrade) -> bool:
    return f.status != FinalStatus.proposed


KINDS: dict[type, MessageKind] = {  # in the order of the initial sync
    TeachingAssignment: MessageKind(
        "teachers", _teachers, _teachers_students,
        (*(joinedload(r) for r in (TeachingAssignment.subject, TeachingAssignment.teacher,
                                   TeachingAssignment.class_unit, TeachingAssignment.stream)),
         joinedload(TeachingAssignment.group).joinedload(StudyGroup.class_unit),
         *(joinedload(TeachingAssignment.plan).joinedload(r)
           for r in (IndividualPlan.student, IndividualPlan.subject))),
        lambda s: _rows(TeachingAssignment, TeachingAssignment.id.in_(s.mine))),
    TimetableEntry: MessageKind(
        "timetable", _timetable, _timetable_students,
        (*_assignment(TimetableEntry.assignment, TeachingAssignment.teacher), joinedload(TimetableEntry.bell_slot)),
        lambda s: _rows(TimetableEntry, TimetableEntry.assignment_id.in_(s.mine), TimetableEntry.valid_to >= s.as_of)),
    Holiday: MessageKind(
        "holidays", _holidays, _holiday_students, (),
        lambda s: [h for h in _rows(Holiday, Holiday.year_id == s.year.id, order=Holiday.start)
                   if h.grade is None or (s.cls is not None and h.applies_to(s.cls.grade))]),
    ControlWorkPlan: MessageKind(
        "control_work", _control_work, _on_lesson_day, _assignment(ControlWorkPlan.assignment),
        lambda s: _rows(ControlWorkPlan, ControlWorkPlan.assignment_id.in_(s.mine), order=ControlWorkPlan.date)),
    Lesson: MessageKind(
        "lesson", _lesson, _on_lesson_day,
        (*_assignment(Lesson.assignment), joinedload(Lesson.teacher), joinedload(Lesson.bell_slot)),
        lambda s: _rows(Lesson, Lesson.id.in_(s.lessons), order=Lesson.date)),
    LessonChange: MessageKind(
        "lesson_change", _lesson_change, lambda session, c, today: _on_lesson_day(session, c.lesson, today),
        (*_through_lesson(LessonChange.lesson), joinedload(LessonChange.old_teacher),
         joinedload(LessonChange.new_teacher), joinedload(LessonChange.new_slot)),
        lambda s: _rows(LessonChange, LessonChange.lesson_id.in_(s.lessons)), notable=lambda _c: True),
    Mark: MessageKind(
        "mark", _mark, _own_student, (*_through_lesson(Mark.lesson), joinedload(Mark.work_type)),
        lambda s: _rows(Mark, Mark.student_id == s.student.id, Mark.lesson_id.in_(s.of_year))),
    Attendance: MessageKind(
        "attendance", _attendance, _own_student, _through_lesson(Attendance.lesson),
        lambda s: _rows(Attendance, Attendance.student_id == s.student.id, Attendance.lesson_id.in_(s.of_year))),
    FinalGrade: MessageKind(
        "final_grade", _final_grade, _own_student,
        (joinedload(FinalGrade.subject), joinedload(FinalGrade.period).joinedload(ReportingPeriod.year)),
        lambda s: _rows(FinalGrade, FinalGrade.student_id == s.student.id, FinalGrade.status != FinalStatus.proposed,
                        FinalGrade.period_id.in_(select(ReportingPeriod.id)
                                                 .where(ReportingPeriod.year_id == s.year.id))),
        told=_decided, notable=lambda f: f.status == FinalStatus.final),
    ExamResult: MessageKind(
        "exam_result", _exam_result, _own_student, (joinedload(ExamResult.subject),),
        lambda s: _rows(ExamResult, ExamResult.student_id == s.student.id,
                        ExamResult.date.between(s.year.start, s.year.end))),
    Recommendation: MessageKind(
        "recommendation", _recommendation, _own_student,
        (joinedload(Recommendation.subject), joinedload(Recommendation.teacher)),
        lambda s: _rows(Recommendation, Recommendation.student_id == s.student.id,
                        Recommendation.date.between(s.year.start, s.year.end))),
}


def describe(obj, deleted: bool = False) -> tuple[str, dict] | None:
    """(kind, payload) telling families about one journal row, or None when families do not see it
    (a proposed final, a row of another kind). A deleted row says only its id."""
    kind = KINDS.get(type(obj))
    if kind is None or not kind.told(obj):
        return None
    return kind.name, {"id": obj.id, "deleted": True} if deleted else {"id": obj.id, "deleted": False,
                                                                        **kind.build(obj)}
