"""Своевременность заполнения: held lessons without a topic or homework, and marks entered more than N days
after their lesson, by the teacher who gave the lesson. A lesson counts once however much it lacks."""
from collections import defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, case, cast, func, select

from app.extensions import db
from app.models import ClassUnit, Lesson, LessonStatus, Mark, Staff, StudyGroup, Subject, TeachingAssignment
from app.services import clock
from app.services.control import Report, Table, person
from app.services.control.filters import ControlFilters, lesson_conditions

TEACHER_COLUMNS = [("teacher", _l("Teacher")), ("held", _l("Lessons held")), ("no_topic", _l("Without a topic")),
                   ("no_homework", _l("Without homework")), ("unfilled", _l("Without a topic or homework")),
                   ("marks", _l("Marks")), ("late_marks", _l("Marks entered late")), ("late_pct", _l("Late, %"))]
LESSON_COLUMNS = [("date", _l("Date")), ("class", _l("Class")), ("subject", _l("Subject")),
                  ("teacher", _l("Teacher")), ("lacks", _l("What is missing"))]


def days_after(moment, day):
    """Whole days from `day` (a date column) to the date of `moment` (a timestamp column), in SQL."""
    if db.engine.dialect.name == "sqlite":
        return func.julianday(func.date(moment)) - func.julianday(day)
    return cast(moment, Date) - day


def _blank(column):
    return func.coalesce(func.trim(column), "") == ""


def _base(f: ControlFilters, *columns):
    ta = TeachingAssignment
    return (select(*columns).select_from(Lesson).join(ta, ta.id == Lesson.assignment_id)
            .outerjoin(StudyGroup, StudyGroup.id == ta.group_id)
            .where(*lesson_conditions(f), Lesson.status == LessonStatus.held, Lesson.date <= clock.today()))


def _teacher_rows(f: ControlFilters) -> dict[int, dict]:
    no_topic, no_homework = _blank(Lesson.topic), _blank(Lesson.homework)
    lessons = _base(f, Lesson.teacher_id, func.count(Lesson.id), func.sum(case((no_topic, 1), else_=0)),
                    func.sum(case((no_homework, 1), else_=0)),
                    func.sum(case((no_topic | no_homework, 1), else_=0))).group_by(Lesson.teacher_id)
    late = days_after(Mark.created_at, Lesson.date) > f.late_days
    marks = (_base(f, Lesson.teacher_id, func.count(Mark.id), func.sum(case((late, 1), else_=0)))
             .join(Mark, Mark.lesson_id == Lesson.id).group_by(Lesson.teacher_id))
    rows: dict[int, dict] = defaultdict(lambda: {"held": 0, "no_topic": 0, "no_homework": 0, "unfilled": 0,
                                                 "marks": 0, "late_marks": 0})
    for teacher_id, held, topic, homework, either in db.session.execute(lessons):
        rows[teacher_id].update(held=held, no_topic=int(topic or 0), no_homework=int(homework or 0),
                                unfilled=int(either or 0))
    for teacher_id, count, late_count in db.session.execute(marks):
        rows[teacher_id].update(marks=count, late_marks=int(late_count or 0))
    names = {s.id: s.short_name for s in db.session.scalars(select(Staff).where(Staff.id.in_(list(rows))))}
    for teacher_id, row in rows.items():
        row["teacher"] = names.get(teacher_id, "")
        row["teacher_id"] = teacher_id
        row["late_pct"] = round(100 * row["late_marks"] / row["marks"], 1) if row["marks"] else None
    return rows


def _lesson_rows(f: ControlFilters) -> list[dict]:
    cls = ClassUnit
    no_topic, no_homework = _blank(Lesson.topic), _blank(Lesson.homework)
    class_of = func.coalesce(TeachingAssignment.class_unit_id, StudyGroup.class_unit_id)
    query = (_base(f, Lesson.id, Lesson.date, cls.grade, cls.letter, StudyGroup.name.label("group_name"),
                   Subject.name.label("subject_name"), Staff.surname, Staff.name.label("teacher_name"),
                   Staff.patronymic, no_topic.label("no_topic"), no_homework.label("no_homework"))
             .join(Subject, Subject.id == TeachingAssignment.subject_id).join(Staff, Staff.id == Lesson.teacher_id)
             .outerjoin(cls, cls.id == class_of).where(no_topic | no_homework)
             .order_by(Lesson.date, cls.grade, cls.letter, Subject.name, Lesson.id))
    lacks = {(True, True): _l("topic and homework"), (True, False): _l("topic"), (False, True): _l("homework")}
    return [{"lesson_id": r.id, "date": f"{r.date:%d.%m.%Y}",
             "class": f"{r.grade}{r.letter}{' ' + r.group_name if r.group_name else ''}" if r.grade else "",
             "subject": r.subject_name, "teacher": person(r.surname, r.teacher_name, r.patronymic),
             "lacks": str(lacks[(bool(r.no_topic), bool(r.no_homework))])} for r in db.session.execute(query)]


def timeliness(f: ControlFilters) -> Report:
    """The timeliness report over the filters' date range (up to today)."""
    teachers = sorted(_teacher_rows(f).values(), key=lambda r: r["teacher"])
    note = _l("Held lessons from %(start)s to %(end)s; a mark is late when entered more than %(days)s days "
              "after its lesson.", start=f"{f.start:%d.%m.%Y}", end=f"{f.end:%d.%m.%Y}", days=f.late_days)
    return Report(str(_l("Timeliness of filling the journal")), str(note), [
        Table("teachers", str(_l("By teacher")), TEACHER_COLUMNS, teachers),
        Table("lessons", str(_l("Held lessons without a topic or homework")), LESSON_COLUMNS, _lesson_rows(f))])
