"""Curriculum fulfilment and attendance of a reporting period (SPEC §1 p.5, §4): planned hours
against lessons held and cancelled, lessons by type, control works planned and held, missed lessons
by reason. GROUP BY queries only; Python merges the aggregated rows."""
from collections import Counter, defaultdict

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    ClassUnit,
    ControlWorkPlan,
    CurriculumItem,
    Enrolment,
    IndividualPlan,
    Lesson,
    LessonStatus,
    Stream,
    Student,
    StudyGroup,
    Subject,
    TeachingAssignment,
    stream_student,
)
from app.models.journal import MISSED_CODES
from app.services.grid import CONTROL_TYPES
from app.services.membership import enrolled_between
from app.services.stats import Filters, class_conditions


def curriculum(f: Filters) -> list[dict]:
    """Class × subject (× group) rows: planned hours, held, cancelled, still scheduled, deficit, %
    fulfilled, held lessons by type, control works planned and held."""
    p = f.period
    stream_home, plan_home = _home_classes()
    class_of = func.coalesce(TeachingAssignment.class_unit_id, StudyGroup.class_unit_id, stream_home.c.class_id,
                             plan_home.c.class_id)
    conds = [TeachingAssignment.year_id == p.year_id, *class_conditions(f)]
    if f.subject_id is not None:
        conds.append(TeachingAssignment.subject_id == f.subject_id)
    if f.teacher_id is not None:
        conds.append(TeachingAssignment.teacher_id == f.teacher_id)

    def grouped(model, *columns):
        keys = (class_of, TeachingAssignment.subject_id, TeachingAssignment.group_id, TeachingAssignment.stream_id,
                TeachingAssignment.plan_id)
        return (select(*keys, *columns, func.count(model.id)).select_from(model)
                .join(TeachingAssignment, TeachingAssignment.id == model.assignment_id)
                .outerjoin(StudyGroup, StudyGroup.id == TeachingAssignment.group_id)
                .outerjoin(stream_home, stream_home.c.stream_id == TeachingAssignment.stream_id)
                .outerjoin(plan_home, plan_home.c.plan_id == TeachingAssignment.plan_id)
                .join(ClassUnit, ClassUnit.id == class_of)
                .where(model.date.between(p.start, p.end), *conds).group_by(*keys, *columns))

    rows: dict[tuple, dict] = {}

    def row(key):
        return rows.setdefault(key, {"held": 0, "cancelled": 0, "scheduled": 0, "by_type": Counter(),
                                     "control_planned": 0, "control_held": 0})

    for cid, sid, gid, stream_id, plan_id, status, kind, count in db.session.execute(
            grouped(Lesson, Lesson.status, Lesson.lesson_type)):
        r = row((cid, sid, gid, stream_id, plan_id))
        r[{LessonStatus.held: "held", LessonStatus.cancelled: "cancelled"}.get(status, "scheduled")] += count
        if status == LessonStatus.held:
            r["by_type"][kind.value] += count
            r["control_held"] += count if kind in CONTROL_TYPES else 0
    for cid, sid, *part, count in db.session.execute(grouped(ControlWorkPlan)):
        row((cid, sid, *part))["control_planned"] += count
    plan_query = (select(CurriculumItem.class_unit_id, CurriculumItem.subject_id, CurriculumItem.planned_hours)
                  .join(ClassUnit, ClassUnit.id == CurriculumItem.class_unit_id)
                  .where(CurriculumItem.period_id == p.id, *class_conditions(f)))
    if f.subject_id is not None:
        plan_query = plan_query.where(CurriculumItem.subject_id == f.subject_id)
    planned = {(cid, sid): hours for cid, sid, hours in db.session.execute(plan_query)}
    if f.teacher_id is None:
        for cid, sid in planned:
            if not any(k[:2] == (cid, sid) for k in rows):
                row((cid, sid, None, None, None))
    names = _names(rows)
    out = []
    for (cid, sid, gid, stream_id, plan_id), r in rows.items():
        # a stream's or a plan's own lessons are beside the class's curriculum, not part of it
        hours = planned.get((cid, sid)) if stream_id is None and plan_id is None else None
        part = names["group"].get(gid) or names["stream"].get(stream_id) or names["plan"].get(plan_id) or ""
        out.append({"class_id": cid, "class": names["class"][cid].name, "grade": names["class"][cid].grade,
                    "subject_id": sid, "subject": names["subject"][sid], "group_id": gid, "stream_id": stream_id,
                    "plan_id": plan_id, "group": part, "planned": hours, **r, "by_type": dict(r["by_type"]),
                    "deficit": max(hours - r["held"], 0) if hours is not None else None,
                    "percent": round(r["held"] * 100 / hours, 1) if hours else None})
    return sorted(out, key=lambda x: (x["grade"], x["class"], x["subject"], x["group"]))


def _home_classes():
    """Subqueries giving a stream (its members' first class of the stream's year) and an individual plan
    (its student's class of the plan's year) a class, so that their lessons count in the fulfilment."""
    stream_home = (select(stream_student.c.stream_id, func.min(Enrolment.class_unit_id).label("class_id"))
                   .join(Stream, Stream.id == stream_student.c.stream_id)
                   .join(Enrolment, Enrolment.student_id == stream_student.c.student_id)
                   .join(ClassUnit, (ClassUnit.id == Enrolment.class_unit_id) & (ClassUnit.year_id == Stream.year_id))
                   .group_by(stream_student.c.stream_id).subquery("stream_home"))
    plan_home = (select(IndividualPlan.id.label("plan_id"), func.min(Enrolment.class_unit_id).label("class_id"))
                 .join(Enrolment, Enrolment.student_id == IndividualPlan.student_id)
                 .join(ClassUnit, (ClassUnit.id == Enrolment.class_unit_id)
                       & (ClassUnit.year_id == IndividualPlan.year_id))
                 .group_by(IndividualPlan.id).subquery("plan_home"))
    return stream_home, plan_home


def _names(rows) -> dict:
    class_ids = {k[0] for k in rows}
    subject_ids = {k[1] for k in rows}
    group_ids = {k[2] for k in rows if k[2]}
    streams = db.session.execute(select(Stream.id, Stream.name).where(Stream.id.in_({k[3] for k in rows if k[3]})))
    plans = db.session.execute(select(IndividualPlan.id, Student).join(Student, Student.id == IndividualPlan.student_id)
                               .where(IndividualPlan.id.in_({k[4] for k in rows if k[4]})))
    return {"stream": {i: str(_l("stream «%(name)s»", name=name)) for i, name in streams},
            "plan": {i: str(_l("individual plan: %(student)s", student=student.short_name)) for i, student in plans},
            "class": {c.id: c for c in db.session.scalars(select(ClassUnit).where(ClassUnit.id.in_(class_ids)))},
            "subject": dict(db.session.execute(select(Subject.id, Subject.name)
                                               .where(Subject.id.in_(subject_ids))).tuples().all()),
            "group": dict(db.session.execute(select(StudyGroup.id, StudyGroup.name)
                                             .where(StudyGroup.id.in_(group_ids))).tuples().all())}


def attendance(f: Filters, student_id: int | None = None) -> list[dict]:
    """Per class (of the student on the lesson's day): entries by code and missed lessons (Н+Б+УП);
    lessons of the period that were not cancelled."""
    query = (select(Enrolment.class_unit_id, Attendance.code, func.count(Attendance.id))
             .join(Lesson, Lesson.id == Attendance.lesson_id)
             .join(Enrolment, and_(Enrolment.student_id == Attendance.student_id,
                                   enrolled_between(Lesson.date, Lesson.date)))
             .join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
             .where(Lesson.date.between(f.period.start, f.period.end), Lesson.status != LessonStatus.cancelled,
                    *class_conditions(f))
             .group_by(Enrolment.class_unit_id, Attendance.code))
    if f.subject_id is not None or f.teacher_id is not None:
        query = query.join(TeachingAssignment, TeachingAssignment.id == Lesson.assignment_id)
        if f.subject_id is not None:
            query = query.where(TeachingAssignment.subject_id == f.subject_id)
        if f.teacher_id is not None:
            query = query.where(TeachingAssignment.teacher_id == f.teacher_id)
    if student_id is not None:
        query = query.where(Attendance.student_id == student_id)
    per_class: dict[int, Counter] = defaultdict(Counter)
    for cid, code, count in db.session.execute(query):
        per_class[cid][code.value] += count
    classes = {c.id: c for c in db.session.scalars(select(ClassUnit).where(ClassUnit.id.in_(list(per_class))))}
    out = [{"class_id": cid, "class": classes[cid].name, "grade": classes[cid].grade,
            "codes": {c.value: counts[c.value] for c in AttendanceCode},
            "missed": sum(counts[c.value] for c in MISSED_CODES)} for cid, counts in per_class.items()]
    return sorted(out, key=lambda x: (x["grade"], x["class"]))



SUMMED = ("planned", "held", "cancelled", "scheduled", "deficit", "control_planned", "control_held")


def curriculum_totals(rows: list[dict], key: str) -> list[dict]:
    """Curriculum rows summed by "grade" or "class" (class rows keep class_id), with % fulfilled."""
    out: dict = {}
    for r in rows:
        total = out.setdefault(r[key], {key: r[key], "class_id": r["class_id"] if key == "class" else None,
                                        "grade": r["grade"], **dict.fromkeys(SUMMED, 0)})
        for name in SUMMED:
            total[name] += r[name] or 0
        total["held_of_plan"] = total.get("held_of_plan", 0) + (r["held"] if r["planned"] is not None else 0)
    for total in out.values():  # streams' and plans' lessons count as held, but not against the plan
        held = total.pop("held_of_plan")
        total["percent"] = round(held * 100 / total["planned"], 1) if total["planned"] else None
    return sorted(out.values(), key=lambda t: (t["grade"], str(t[key])))


def attendance_totals(rows: list[dict]) -> list[dict]:
    """Attendance rows summed by grade."""
    out: dict = {}
    for r in rows:
        total = out.setdefault(r["grade"], {"grade": r["grade"], "codes": Counter(), "missed": 0})
        total["codes"].update(r["codes"])
        total["missed"] += r["missed"]
    return [{**t, "codes": dict(t["codes"])} for _, t in sorted(out.items())]
