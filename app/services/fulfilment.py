"""Curriculum fulfilment and attendance of a reporting period (SPEC §1 p.5, §4): planned hours
against lessons held and cancelled, lessons by type, control works planned and held, missed lessons
by reason. GROUP BY queries only; Python merges the aggregated rows."""
from collections import Counter, defaultdict

from sqlalchemy import and_, func, select

from app.extensions import db
from app.models import (
    Attendance,
    AttendanceCode,
    ClassUnit,
    ControlWorkPlan,
    CurriculumItem,
    Enrolment,
    Lesson,
    LessonStatus,
    StudyGroup,
    Subject,
    TeachingAssignment,
)
from app.models.journal import MISSED_CODES
from app.services.grid import CONTROL_TYPES
from app.services.membership import enrolled_between
from app.services.stats import Filters, class_conditions


def curriculum(f: Filters) -> list[dict]:
    """Class × subject (× group) rows: planned hours, held, cancelled, still scheduled, deficit, %
    fulfilled, held lessons by type, control works planned and held."""
    p = f.period
    class_of = func.coalesce(TeachingAssignment.class_unit_id, StudyGroup.class_unit_id)
    conds = [TeachingAssignment.year_id == p.year_id, *class_conditions(f)]
    if f.subject_id is not None:
        conds.append(TeachingAssignment.subject_id == f.subject_id)
    if f.teacher_id is not None:
        conds.append(TeachingAssignment.teacher_id == f.teacher_id)

    def grouped(model, *columns):
        keys = (class_of, TeachingAssignment.subject_id, TeachingAssignment.group_id)
        return (select(*keys, *columns, func.count(model.id)).select_from(model)
                .join(TeachingAssignment, TeachingAssignment.id == model.assignment_id)
                .outerjoin(StudyGroup, StudyGroup.id == TeachingAssignment.group_id)
                .join(ClassUnit, ClassUnit.id == class_of)
                .where(model.date.between(p.start, p.end), *conds).group_by(*keys, *columns))

    rows: dict[tuple, dict] = {}

    def row(key):
        return rows.setdefault(key, {"held": 0, "cancelled": 0, "scheduled": 0, "by_type": Counter(),
                                     "control_planned": 0, "control_held": 0})

    for cid, sid, gid, status, kind, count in db.session.execute(
            grouped(Lesson, Lesson.status, Lesson.lesson_type)):
        r = row((cid, sid, gid))
        r[{LessonStatus.held: "held", LessonStatus.cancelled: "cancelled"}.get(status, "scheduled")] += count
        if status == LessonStatus.held:
            r["by_type"][kind.value] += count
            r["control_held"] += count if kind in CONTROL_TYPES else 0
    for cid, sid, gid, count in db.session.execute(grouped(ControlWorkPlan)):
        row((cid, sid, gid))["control_planned"] += count
    plan_query = (select(CurriculumItem.class_unit_id, CurriculumItem.subject_id, CurriculumItem.planned_hours)
                  .join(ClassUnit, ClassUnit.id == CurriculumItem.class_unit_id)
                  .where(CurriculumItem.period_id == p.id, *class_conditions(f)))
    if f.subject_id is not None:
        plan_query = plan_query.where(CurriculumItem.subject_id == f.subject_id)
    planned = {(cid, sid): hours for cid, sid, hours in db.session.execute(plan_query)}
    if f.teacher_id is None:
        for cid, sid in planned:
            if not any(k[:2] == (cid, sid) for k in rows):
                row((cid, sid, None))
    names = _names(rows)
    out = []
    for (cid, sid, gid), r in rows.items():
        hours = planned.get((cid, sid))
        out.append({"class_id": cid, "class": names["class"][cid].name, "grade": names["class"][cid].grade,
                    "subject_id": sid, "subject": names["subject"][sid], "group_id": gid,
                    "group": names["group"].get(gid, ""), "planned": hours, **r, "by_type": dict(r["by_type"]),
                    "deficit": max(hours - r["held"], 0) if hours is not None else None,
                    "percent": round(r["held"] * 100 / hours, 1) if hours else None})
    return sorted(out, key=lambda x: (x["grade"], x["class"], x["subject"], x["group"]))


def _names(rows) -> dict:
    class_ids = {k[0] for k in rows}
    subject_ids = {k[1] for k in rows}
    group_ids = {k[2] for k in rows if k[2]}
    return {"class": {c.id: c for c in db.session.scalars(select(ClassUnit).where(ClassUnit.id.in_(class_ids)))},
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
    for total in out.values():
        total["percent"] = round(total["held"] * 100 / total["planned"], 1) if total["planned"] else None
    return sorted(out.values(), key=lambda t: (t["grade"], str(t[key])))


def attendance_totals(rows: list[dict]) -> list[dict]:
    """Attendance rows summed by grade."""
    out: dict = {}
    for r in rows:
        total = out.setdefault(r["grade"], {"grade": r["grade"], "codes": Counter(), "missed": 0})
        total["codes"].update(r["codes"])
        total["missed"] += r["missed"]
    return [{**t, "codes": dict(t["codes"])} for _, t in sorted(out.items())]
