"""No clashes (SPEC §3): a class — or any of its students through a group, stream or individual plan —,
a teacher or a room has at most one lesson in a slot, in the timetable and after every lesson change.

The check runs in the session before every flush (as the freeze of closed periods does), so every path
that writes a timetable entry or a lesson — pages, REST API, lesson changes, the CLI, services — meets
it; the lessons' bulk insert (`generate_lessons`) calls `refuse_lesson_clashes` itself. Only rows that
are new or change their slot, teacher, room or target are checked, against everything else in the slot.
"""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import event, inspect, select, union_all
from sqlalchemy.orm import Session

from app.models import (
    BellSlot,
    Enrolment,
    IndividualPlan,
    Lesson,
    LessonStatus,
    Staff,
    Student,
    StudyGroup,
    TeachingAssignment,
    TimetableEntry,
    stream_student,
    study_group_student,
)
from app.services.errors import RuleViolation

WEEKDAYS = [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday")]
LESSON_KEYS = ("assignment_id", "assignment", "date", "bell_slot_id", "bell_slot", "teacher_id", "teacher",
               "room", "status")
ENTRY_KEYS = ("assignment_id", "assignment", "weekday", "bell_slot_id", "bell_slot", "room", "valid_from",
              "valid_to")
FAR_FUTURE = dt.date.max


@dataclass(frozen=True)
class Occupant:
    """A lesson or a timetable entry holding a slot (`slot`: (date or weekday, bell slot id)) for a span."""

    ident: object
    school_id: int | None
    assignment_id: int | None
    teacher_id: int | None
    room: str
    slot: tuple
    start: dt.date
    end: dt.date
    slot_number: int | None = None


@dataclass(frozen=True)
class Clash:
    """Two occupants of one slot and what they share: a teacher, a room or students."""

    kind: str  # teacher | room | students
    fresh: Occupant
    other: Occupant
    student_ids: frozenset = frozenset()


def memberships(session: Session, assignment_ids) -> dict[int, list[tuple[int, dt.date, dt.date | None]]]:
    """(student id, enrolment start, end) of everyone each assignment teaches — class, group, stream or
    individual plan — in one statement."""
    ids = [i for i in set(assignment_ids) if i is not None]
    out: dict[int, list] = defaultdict(list)
    if not ids:
        return out
    ta, e, sg, ss = TeachingAssignment, Enrolment, study_group_student, stream_student
    cols = (ta.id, e.student_id, e.start, e.end)
    whole = select(*cols).join(e, e.class_unit_id == ta.class_unit_id).where(ta.id.in_(ids))
    group = (select(*cols).join(StudyGroup, StudyGroup.id == ta.group_id).join(sg, sg.c.group_id == ta.group_id)
             .join(e, (e.student_id == sg.c.student_id) & (e.class_unit_id == StudyGroup.class_unit_id))
             .where(ta.id.in_(ids)))
    stream = (select(*cols).join(ss, ss.c.stream_id == ta.stream_id).join(e, e.student_id == ss.c.student_id)
              .where(ta.id.in_(ids)))
    plan = (select(*cols).join(IndividualPlan, IndividualPlan.id == ta.plan_id)
            .join(e, e.student_id == IndividualPlan.student_id).where(ta.id.in_(ids)))
    for assignment_id, student_id, start, end in session.execute(union_all(whole, group, stream, plan)):
        out[assignment_id].append((student_id, start, end))
    return out


def _present(members, occupant: Occupant, start: dt.date, end: dt.date) -> set[int]:
    return {sid for sid, a, b in members.get(occupant.assignment_id, ()) if a <= end and (b is None or b >= start)}


def _between(fresh: Occupant, other: Occupant, members) -> Clash | None:
    """What two occupants of one slot share, if their spans overlap."""
    start, end = max(fresh.start, other.start), min(fresh.end, other.end)
    if start > end:
        return None
    if fresh.assignment_id == other.assignment_id:  # the same class (group…) twice: name it, not its teacher
        return Clash("students", fresh, other, frozenset(_present(members, fresh, start, end)))
    if fresh.teacher_id is not None and fresh.teacher_id == other.teacher_id:
        return Clash("teacher", fresh, other)
    if fresh.room.strip() and fresh.room.strip().lower() == other.room.strip().lower():
        return Clash("room", fresh, other)
    common = _present(members, fresh, start, end) & _present(members, other, start, end)
    return Clash("students", fresh, other, frozenset(common)) if common else None


def find_clashes(session: Session, fresh: list[Occupant], others: list[Occupant],
                 first_only: bool = True) -> list[Clash]:
    """Clashes of each fresh occupant with the others and the fresh ones before it, slot by slot."""
    members = memberships(session, {o.assignment_id for o in fresh + others})
    by_slot = defaultdict(list)
    for other in others:
        by_slot[other.slot].append(other)  # bell slots belong to one school
    out = []
    for occupant in fresh:
        near = by_slot[occupant.slot]
        for other in near:
            clash = _between(occupant, other, members)
            if clash is not None:
                out.append(clash)
                if first_only:
                    return out
                break
        near.append(occupant)
    return out


# --- messages --------------------------------------------------------------------------------------------

def _when(occupant: Occupant) -> str:
    day, _slot = occupant.slot
    number = occupant.slot_number
    if isinstance(day, dt.date):
        return str(_l("%(day)s, lesson %(n)s", day=f"{day:%d.%m.%Y}", n=number))
    return str(_l("%(day)s, lesson %(n)s", day=str(WEEKDAYS[day]).lower(), n=number))


def _label(session: Session, occupant: Occupant) -> str:
    assignment = session.get(TeachingAssignment, occupant.assignment_id)
    if assignment is None:
        return ""
    target = assignment.plan.student if assignment.plan is not None else assignment.target
    return f"{assignment.subject} ({target})"


def _home_class(assignment: TeachingAssignment | None):
    if assignment is None:
        return None
    return assignment.class_unit or (assignment.group.class_unit if assignment.group else None)


def describe(session: Session, clash: Clash) -> str:
    """The Russian refusal naming the clash: the teacher, the room, the class or the student."""
    fresh, other = clash.fresh, clash.other
    when, other_label = _when(fresh), _label(session, other)
    if clash.kind == "teacher":
        teacher = session.get(Staff, fresh.teacher_id)
        return str(_l("Clash: teacher %(teacher)s already has the lesson %(other)s then (%(when)s).",
                      teacher=teacher, other=other_label, when=when))
    if clash.kind == "room":
        return str(_l("Clash: room %(room)s is taken by the lesson %(other)s then (%(when)s).",
                      room=fresh.room.strip(), other=other_label, when=when))
    mine = _home_class(session.get(TeachingAssignment, fresh.assignment_id))
    theirs = _home_class(session.get(TeachingAssignment, other.assignment_id))
    if mine is not None and mine is theirs:
        return str(_l("Clash: class %(cls)s already has the lesson %(other)s then (%(when)s).",
                      cls=mine, other=other_label, when=when))
    student = session.scalars(select(Student).where(Student.id.in_(clash.student_ids))
                              .order_by(Student.surname, Student.name, Student.id)).first()
    return str(_l("Clash: %(student)s would be at two lessons at once, %(this)s and %(other)s (%(when)s).",
                  student=student, this=_label(session, fresh), other=other_label, when=when))


def refuse(session: Session, fresh: list[Occupant], others: list[Occupant]) -> None:
    """Raise the refusal naming the first clash of the fresh occupants."""
    clashes = find_clashes(session, fresh, others)
    if clashes:
        raise RuleViolation(describe(session, clashes[0]))


# --- lessons ----------------------------------------------------------------------------------------------

def _fk(obj, relation: str):
    related = inspect(obj).dict.get(relation)
    if related is not None and getattr(related, "id", None) is not None:
        return related.id
    return getattr(obj, f"{relation}_id")


def _slot_numbers(session: Session, slot_ids) -> dict[int, int]:
    ids = [i for i in set(slot_ids) if i is not None]
    return dict(session.execute(select(BellSlot.id, BellSlot.number).where(BellSlot.id.in_(ids))).all()) if ids else {}


def lesson_occupant(values: dict, ident, numbers: dict) -> Occupant:
    """A lesson (its column values) as a slot's occupant."""
    day, slot = values["date"], values["bell_slot_id"]
    return Occupant(ident, values["school_id"], values["assignment_id"], values["teacher_id"],
                    values.get("room") or "", (day, slot), day, day, numbers.get(slot))


def _lesson_values(obj: Lesson) -> dict:
    return {"school_id": obj.school_id, "assignment_id": _fk(obj, "assignment"), "date": obj.date,
            "bell_slot_id": _fk(obj, "bell_slot"), "teacher_id": _fk(obj, "teacher"), "room": obj.room}


def _cancelled(status) -> bool:
    return getattr(status, "value", status) == LessonStatus.cancelled.value


def refuse_lesson_clashes(session: Session, rows: list[dict], skip=()) -> None:
    """Refuse lessons (column values) that would clash with each other or with the lessons held in
    their slots; `skip` are objects of the session whose stored place does not count (being changed)."""
    rows = [r for r in rows if r["date"] is not None and r["bell_slot_id"] is not None
            and not _cancelled(r.get("status"))]
    if not rows:
        return
    days, slots = {r["date"] for r in rows}, {r["bell_slot_id"] for r in rows}
    skipped = {id(obj) for obj in skip}
    with session.no_autoflush:
        stored = session.scalars(select(Lesson).where(Lesson.date.in_(days), Lesson.bell_slot_id.in_(slots))).all()
        numbers = _slot_numbers(session, slots)
        others = [lesson_occupant(_lesson_values(obj), id(obj), numbers) for obj in stored
                  if id(obj) not in skipped and obj not in session.deleted and not _cancelled(obj.status)]
        fresh = [lesson_occupant(r, ("row", n), numbers) for n, r in enumerate(rows)]
        refuse(session, fresh, others)


def _changed(obj, keys) -> bool:
    state = inspect(obj)
    return state.key is None or any(state.attrs[k].history.has_changes() for k in keys)


def _check_lessons(session: Session, lessons: list[Lesson]) -> None:
    rows = []
    for obj in lessons:
        if not _cancelled(obj.status):
            rows.append({**_lesson_values(obj), "status": obj.status})
    refuse_lesson_clashes(session, rows, skip=lessons)


# --- timetable entries ----------------------------------------------------------------------------------

def _entry_occupant(obj: TimetableEntry, numbers: dict, teachers: dict) -> Occupant:
    assignment_id, slot = _fk(obj, "assignment"), _fk(obj, "bell_slot")
    return Occupant(id(obj), obj.school_id, assignment_id, teachers.get(assignment_id), obj.room or "",
                    (obj.weekday, slot), obj.valid_from or dt.date.min, obj.valid_to or FAR_FUTURE,
                    numbers.get(slot))


def entry_clashes(session: Session, entries: list[TimetableEntry]) -> list[tuple[TimetableEntry, Clash]]:
    """Every entry (of those given) that would clash with the entries of its weekday and slot (whose
    validity overlaps) or with a given entry before it, with its first clash."""
    entries = [e for e in entries if e.weekday is not None and _fk(e, "bell_slot") is not None]
    if not entries:
        return []
    checked = {id(e) for e in entries}
    with session.no_autoflush:
        slots = {_fk(e, "bell_slot") for e in entries}
        stored = [e for e in session.scalars(select(TimetableEntry).where(
            TimetableEntry.bell_slot_id.in_(slots), TimetableEntry.weekday.in_({e.weekday for e in entries})))
            if id(e) not in checked and e not in session.deleted]
        assignment_ids = {_fk(e, "assignment") for e in entries + stored} - {None}
        teachers = dict(session.execute(select(TeachingAssignment.id, TeachingAssignment.teacher_id).where(
            TeachingAssignment.id.in_(assignment_ids))).all()) if assignment_ids else {}
        for e in entries:  # a new assignment's teacher, or one changed in this flush
            if e.assignment is not None and e.assignment.teacher_id is not None:
                teachers[_fk(e, "assignment")] = e.assignment.teacher_id
        numbers = _slot_numbers(session, slots)
        by_ident = {id(e): e for e in entries}
        found = find_clashes(session, [_entry_occupant(e, numbers, teachers) for e in entries],
                             [_entry_occupant(e, numbers, teachers) for e in stored], first_only=False)
    return [(by_ident[clash.fresh.ident], clash) for clash in found]


def refuse_entry_clashes(session: Session, entries: list[TimetableEntry]) -> None:
    """Refuse timetable entries that would clash with each other or with the stored ones."""
    found = entry_clashes(session, entries)
    if found:
        raise RuleViolation(describe(session, found[0][1]))


@event.listens_for(Session, "before_flush")
def _no_clashes(session: Session, _context, _instances) -> None:
    """No path may put two lessons of a class, a student, a teacher or a room in one slot."""
    objs = list(session.new) + list(session.dirty)
    lessons = [o for o in objs if isinstance(o, Lesson) and _changed(o, LESSON_KEYS)]
    entries = [o for o in objs if isinstance(o, TimetableEntry) and _changed(o, ENTRY_KEYS)]
    if lessons:
        _check_lessons(session, lessons)
    if entries:
        refuse_entry_clashes(session, entries)


def clashes_of_school(session: Session, school_id: int) -> list[str]:
    """Every clash already stored in a school's timetable and lessons, described (rows written in bulk,
    e.g. the demo's, pass no flush guard: this is their check)."""
    entries = session.scalars(select(TimetableEntry).where(TimetableEntry.school_id == school_id)).all()
    teachers = dict(session.execute(select(TeachingAssignment.id, TeachingAssignment.teacher_id).where(
        TeachingAssignment.school_id == school_id)).all())
    numbers = dict(session.execute(select(BellSlot.id, BellSlot.number).where(BellSlot.school_id == school_id)).all())
    lessons = session.execute(select(Lesson.school_id, Lesson.assignment_id, Lesson.date, Lesson.bell_slot_id,
                                     Lesson.teacher_id, Lesson.room).where(
        Lesson.school_id == school_id, Lesson.status != LessonStatus.cancelled)).mappings().all()
    found = find_clashes(session, [_entry_occupant(e, numbers, teachers) for e in entries], [], first_only=False)
    found += find_clashes(session, [lesson_occupant(row, ("row", n), numbers) for n, row in enumerate(lessons)], [],
                          first_only=False)
    return [describe(session, clash) for clash in found]


def refuse_clashes_of(session: Session, item) -> None:
    """The same refusal before a page or the API saves a row: FAB reports a failed flush of an edit only
    as «database error», so the views' guard asks first (see app.security.guard.check_write)."""
    if isinstance(item, Lesson) and _changed(item, LESSON_KEYS):
        _check_lessons(session, [item])
    elif isinstance(item, TimetableEntry) and _changed(item, ENTRY_KEYS):
        refuse_entry_clashes(session, [item])
