"""The demo's journal up to `today`: timetable, lessons (held, cancelled, substituted), control
works, topics and homework, marks from each student's ability with noise, and absences."""
import datetime as dt
import random
from collections import defaultdict

from sqlalchemy import select

from app.extensions import db
from app.models import (
    Attendance,
    BellSlot,
    ChangeKind,
    ControlWorkPlan,
    Lesson,
    LessonChange,
    LessonStatus,
    LessonType,
    Mark,
    Staff,
    TeachingAssignment,
    TimetableEntry,
    WorkType,
    stream_student,
    study_group_student,
)
from app.services.assessment import mode_in, rules_of
from app.services.bulk import insert_rows, update_rows
from app.services.demo.school import DemoSchool
from app.services.lessons import generate_lessons
from app.services.membership import grade_of

TOPICS = ["Повторение изученного", "Новая тема", "Решение задач", "Практикум", "Работа с текстом",
          "Обобщение и систематизация", "Разбор ошибок", "Проект: защита"]
WORK_MIX = [("Ответ на уроке", 5), ("Домашняя работа", 3), ("Самостоятельная работа", 2),
            ("Практическая работа", 1), ("Проверочная работа", 1)]


class JournalBuilder:
    """Fills the journal of a DemoSchool; deterministic for the builder's random generator."""

    def __init__(self, demo: DemoSchool, rng: random.Random, today: dt.date):
        self.demo, self.rng, self.today = demo, rng, today
        self.entry = random.Random(today.toordinal() + 1)  # when marks were typed: apart from the marks' draws
        self.school = demo.school
        self.slots = db.session.scalars(select(BellSlot).where(BellSlot.school_id == self.school.id)
                                        .order_by(BellSlot.number)).all()
        self.work_types = {w.name: w for w in db.session.scalars(
            select(WorkType).where(WorkType.school_id == self.school.id))}

    def build(self) -> dict[str, int]:
        """Timetable, lessons, changes, control works, marks and attendance; returns counts."""
        assignments = db.session.scalars(select(TeachingAssignment).where(
            TeachingAssignment.school_id == self.school.id).order_by(TeachingAssignment.id)).all()
        members = self._members(assignments)
        self._timetable(assignments, members)
        lessons = generate_lessons(self.school, self.demo.year.start, self.today + dt.timedelta(days=7),
                                   audited=False)
        rows = db.session.execute(select(Lesson.id, Lesson.assignment_id, Lesson.date, Lesson.teacher_id,
                                         Lesson.bell_slot_id)
                                  .where(Lesson.school_id == self.school.id)
                                  .order_by(Lesson.date, Lesson.bell_slot_id, Lesson.id)).all()
        held, control = self._lessons(rows, assignments)
        absent = self._attendance(held, members)
        rules = rules_of(self.school.id)
        marked = {a.id for a in assignments if mode_in(rules, grade_of(a), a.subject_id) is None}
        marks = self._marks([(r, c) for r, c in held if r.assignment_id in marked], control, members, absent)
        return {"lessons": lessons, "marks": marks, "absences": len(absent)}

    def _timetable(self, assignments, members: dict[int, list[int]]) -> None:
        """Place each assignment's weekly hours in slots where its students, teacher and room are free,
        spread over the days: no clash (services/timetable_clashes.py) for a class, a group, the stream
        or an individual plan. Parallel groups of a class go together when their teachers differ; each
        teacher has a room of their own."""
        rng, days = self.rng, list(range(self.school.study_days_per_week))
        rooms = {t: str(101 + n) for n, t in enumerate(sorted({a.teacher_id for a in assignments}))}
        busy_students, busy_teacher = set(), set()
        rows = []
        units: list[tuple[TeachingAssignment, list[TeachingAssignment]]] = []
        by_group_class = defaultdict(list)
        for a in assignments:
            if a.group_id:
                by_group_class[(a.group.class_unit_id, a.subject_id)].append(a)
            else:
                units.extend((a, [a]) for _ in range(int(a.weekly_hours)))
        for parallel in by_group_class.values():
            apart = len({a.teacher_id for a in parallel}) < len(parallel)
            for together in ([[a] for a in parallel] if apart else [parallel]):
                units.extend((together[0], together) for _ in range(int(together[0].weekly_hours)))
        rng.shuffle(units)
        units.sort(key=lambda unit: bool(unit[0].stream_id or unit[0].plan_id))  # a few students: fit them last
        for lead, together in units:
            students = {sid for a in together for sid in members[a.id]}
            teachers = {a.teacher_id for a in together}
            start = rng.randrange(len(days))
            last = 6 if grade_of(lead) is not None and grade_of(lead) <= 4 else 7
            free = ((slot, days[(start + k) % len(days)]) for slot in self.slots[:last] for k in range(len(days)))
            for slot, day in free:
                if any((t, day, slot.id) in busy_teacher for t in teachers) or any(
                        (sid, day, slot.id) in busy_students for sid in students):
                    continue
                busy_students.update((sid, day, slot.id) for sid in students)
                busy_teacher.update((t, day, slot.id) for t in teachers)
                rows.extend({"school_id": self.school.id, "assignment_id": a.id, "weekday": day,
                             "bell_slot_id": slot.id, "room": rooms[a.teacher_id],
                             "valid_from": self.demo.year.start, "valid_to": self.demo.year.end}
                            for a in together)
                break
        insert_rows(TimetableEntry, rows)

    def _members(self, assignments) -> dict[int, list[int]]:
        groups, streams = defaultdict(list), defaultdict(list)
        own_groups = {a.group_id for a in assignments if a.group_id}
        own_streams = {a.stream_id for a in assignments if a.stream_id}
        # Read in the order they were written (the draws follow it); this school's only: a district holds many.
        for gid, sid in db.session.execute(select(study_group_student.c.group_id, study_group_student.c.student_id)):
            if gid in own_groups:
                groups[gid].append(sid)
        for sid_, st in db.session.execute(select(stream_student.c.stream_id, stream_student.c.student_id)):
            if sid_ in own_streams:
                streams[sid_].append(st)
        out = {}
        for a in assignments:
            if a.class_unit_id:
                out[a.id] = self.demo.student_ids[a.class_unit_id]
            elif a.group_id:
                out[a.id] = groups[a.group_id]
            elif a.stream_id:
                out[a.id] = streams[a.stream_id]
            else:
                out[a.id] = [a.plan.student_id]
        return out

    def _lessons(self, rows, assignments):
        """Statuses, topics, homework, a few cancellations and substitutions, control works on plan."""
        rng, today = self.rng, self.today
        teachers = db.session.scalars(select(Staff.id).where(Staff.school_id == self.school.id,
                                                             Staff.user_id.is_not(None))).all()
        per_assignment = defaultdict(list)
        for row in rows:
            per_assignment[row.assignment_id].append(row)
        updates, changes, plans, held, control = [], [], [], [], set()
        busy = {(r.teacher_id, r.date, r.bell_slot_id) for r in rows}
        for a_id, lessons in per_assignment.items():
            days = set()  # one control work a day per journal, numbered in order
            for i in sorted(rng.sample(range(len(lessons)), min(len(lessons), max(1, len(lessons) // 12)))):
                if lessons[i].date not in days:
                    days.add(lessons[i].date)
                    control.add(lessons[i].id)
            number = 0
            for n, r in enumerate(lessons, start=1):
                is_control = r.id in control
                if is_control:
                    number += 1
                    plans.append({"school_id": self.school.id, "assignment_id": a_id, "date": r.date,
                                  "kind": LessonType.control_work.value,
                                  "topic": f"Контрольная работа № {number}"})
                if r.date > today:
                    updates.append({"id": r.id, "lesson_type": (LessonType.control_work if is_control
                                                                else LessonType.regular).value})
                    continue
                fate = rng.random()
                if fate < 0.03 and not is_control:
                    updates.append({"id": r.id, "status": LessonStatus.cancelled.value, "topic": ""})
                    changes.append(self._change(r, ChangeKind.cancellation, None, "Карантин по гриппу"))
                    continue
                status = LessonStatus.held
                topic = "Контрольная работа" if is_control else f"§{n}. {rng.choice(TOPICS)}"
                row = {"id": r.id, "status": status.value, "topic": topic,
                       "lesson_type": (LessonType.control_work if is_control else LessonType.regular).value,
                       "homework": "" if is_control else f"§{n}, упр. {rng.randint(1, 30)}",
                       "homework_due": r.date + dt.timedelta(days=rng.choice((1, 2, 7)))}
                new = self._substitute(r, teachers, busy) if fate > 0.975 else None
                if new is not None:
                    row["teacher_id"] = new
                    changes.append(self._change(r, ChangeKind.substitution, new, "Болезнь учителя"))
                updates.append(row)
                held.append((r, is_control))
        update_rows(Lesson, updates)
        insert_rows(LessonChange, changes)
        insert_rows(ControlWorkPlan, plans)
        return held, control

    def _substitute(self, r, teachers, busy: set) -> int | None:
        """A substitute who has no lesson of their own in the slot (none: no substitution)."""
        free = [t for t in teachers if (t, r.date, r.bell_slot_id) not in busy]
        if not free:
            return None
        new = self.rng.choice(free)
        busy.add((new, r.date, r.bell_slot_id))
        return new

    def _change(self, r, kind: ChangeKind, new_teacher: int | None, reason: str) -> dict:
        return {"school_id": self.school.id, "lesson_id": r.id, "kind": kind.value, "old_teacher_id": r.teacher_id,
                "new_teacher_id": new_teacher, "old_date": r.date, "reason": reason, "changed_by": "director",
                "changed_at": dt.datetime.combine(r.date, dt.time(8, 0))}

    def _attendance(self, held, members) -> dict[tuple[int, int], str]:
        """Illness runs of several days per student, and scattered absences and lateness."""
        rng = self.rng
        days = sorted({r.date for r, _ in held})
        ill: set[tuple[int, dt.date]] = set()
        students = {s for ids in members.values() for s in ids}
        for student in sorted(students):
            for _ in range(rng.choice((0, 1, 1, 2))):
                if len(days) > 8:
                    first = rng.randrange(len(days) - 5)
                    ill.update((student, d) for d in days[first:first + rng.randint(3, 6)])
        absent = {}
        for r, _control in held:
            for student in members[r.assignment_id]:
                if (student, r.date) in ill:
                    absent[(r.id, student)] = "Б"
                else:
                    x = rng.random()
                    if x < 0.012:
                        absent[(r.id, student)] = "Н"
                    elif x < 0.016:
                        absent[(r.id, student)] = "УП"
                    elif x < 0.02:
                        absent[(r.id, student)] = "ОП"
        rows = [{"school_id": self.school.id, "lesson_id": lid, "student_id": sid, "code": code, "author": "demo",
                 "version": 1} for (lid, sid), code in absent.items()]
        insert_rows(Attendance, rows)
        return absent

    def _entered(self, day: dt.date) -> dt.datetime:
        """When a teacher typed a mark: mostly the lesson's afternoon, sometimes a day or two later, now and
        then after a week (what the timeliness report finds); never after today. Its own draws."""
        x = self.entry.random()
        late = 0 if x < 0.85 else self.entry.randint(1, 2) if x < 0.96 else self.entry.randint(4, 10)
        moment = dt.datetime.combine(day, dt.time(14, 0)) + dt.timedelta(days=late, minutes=self.entry.randint(0, 240))
        return min(moment, dt.datetime.combine(self.today, dt.time(18, 0)))

    def _marks(self, held, control, members, absent) -> int:
        """3–5 marks a month per student and subject from ability plus noise; everyone at control works."""
        rng, wt = self.rng, self.work_types
        ability = {s: rng.gauss(3.9, 0.55) for ids in members.values() for s in ids}
        bias = {}
        by_month = defaultdict(list)
        for r, is_control in held:
            by_month[(r.assignment_id, r.date.year, r.date.month)].append((r, is_control))
        choices, weights = zip(*WORK_MIX, strict=True)
        rows = []
        for (a_id, _y, _m), lessons in sorted(by_month.items()):
            regular = [r for r, c in lessons if not c]
            for student in members[a_id]:
                level = ability[student] + bias.setdefault((student, a_id), rng.gauss(0, 0.3))
                picked = rng.sample(regular, min(len(regular), rng.randint(3, 5)))
                picked += [r for r, c in lessons if c]
                for r in picked:
                    if (r.id, student) in absent and absent[(r.id, student)] != "ОП":
                        continue
                    kind = "Контрольная работа" if r.id in control else rng.choices(choices, weights)[0]
                    value = max(2, min(5, round(level + rng.gauss(0, 0.7))))
                    entered = self._entered(r.date)
                    rows.append({"school_id": self.school.id, "lesson_id": r.id, "student_id": student,
                                 "work_type_id": wt[kind].id, "value": value, "comment": "", "author": "demo",
                                 "version": 1, "created_at": entered, "updated_at": entered})
        seen, unique = set(), []
        for row in rows:
            key = (row["lesson_id"], row["student_id"], row["work_type_id"])
            if key not in seen:
                seen.add(key)
                unique.append(row)
        return insert_rows(Mark, unique)

