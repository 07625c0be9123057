"""What the next year takes from this one: classes one grade up with their students (the retained in a class
of the same grade, grade 1 classes left empty for the new pupils), and — as drafts to edit — groups, the
stream, individual plans, teaching assignments, the curriculum and the timetable of each class's successor.
Grade 9 goes on to grade 10 of the same letter where the school teaches grades 10–11 (those who leave are
then recorded by the registrar); otherwise grade 9, like grade 11, leaves with the year."""
import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    CurriculumItem,
    Enrolment,
    IndividualPlan,
    PromotionOutcome,
    ReportingPeriod,
    Stream,
    StudyGroup,
    TeachingAssignment,
    TimetableEntry,
)
from app.services.calendar import holidays_of_year, planned_hours, study_days

GOES_UP = (PromotionOutcome.promoted, PromotionOutcome.conditional)
WEEKS_SHIFT = dt.timedelta(weeks=52)  # a year later on the same weekday


def shifted(day: dt.date, old: AcademicYear, new: AcademicYear) -> dt.date:
    """A date of the old year on the same weekday a year later, kept inside the new year (its first and last
    days stay the first and last)."""
    if day == old.start:
        return new.start
    if day == old.end:
        return new.end
    return min(max(day + WEEKS_SHIFT, new.start), new.end)


class Copier:
    """Builds the new year's classes and teaching from the old year's, keeping the maps between them."""

    def __init__(self, source: AcademicYear, year: AcademicYear, periods: dict[int, ReportingPeriod]):
        self.source, self.year, self.periods = source, year, periods
        self.old_classes = db.session.scalars(select(ClassUnit).where(ClassUnit.year_id == source.id)
                                              .order_by(ClassUnit.grade, ClassUnit.letter)).all()
        self.secondary = any(c.grade >= 10 for c in self.old_classes)
        self.classes: dict[tuple[int, str], ClassUnit] = {}
        self.successor: dict[int, ClassUnit] = {}  # old class id → the class it becomes
        self.placed: dict[int, ClassUnit | None] = {}  # student id → new class (None: leaves)

    def _class(self, grade: int, letter: str, like: ClassUnit, teacher: bool = True) -> ClassUnit:
        key = (grade, letter)
        if key not in self.classes:
            self.classes[key] = ClassUnit(school_id=like.school_id, year=self.year, grade=grade, letter=letter,
                                          period_kind=like.period_kind,
                                          class_teacher_id=like.class_teacher_id if teacher else None)
            db.session.add(self.classes[key])
        return self.classes[key]

    def _successors(self) -> None:
        for cls in self.old_classes:
            if cls.grade < 11 and (cls.grade != 9 or self.secondary):
                self.successor[cls.id] = self._class(cls.grade + 1, cls.letter, cls)
            if cls.grade == 1:
                self._class(1, cls.letter, cls, teacher=False)

    def _place(self, outcome) -> ClassUnit | None:
        cls = outcome.class_unit
        if outcome.outcome in GOES_UP or (outcome.outcome == PromotionOutcome.graduated and cls.grade == 9):
            return self.successor.get(cls.id)
        if outcome.outcome == PromotionOutcome.retained:
            return self._class(cls.grade, cls.letter, cls)
        return None

    def classes_and_students(self, outcomes) -> dict[int, ClassUnit | None]:
        """Create the classes, end this year's enrolments and enrol each student in the new class (or let
        them leave); returns student id → new class."""
        self._successors()
        for outcome in outcomes:
            if outcome.outcome != PromotionOutcome.left:
                self.placed[outcome.student.id] = self._place(outcome)
        db.session.flush()
        open_ones = db.session.scalars(select(Enrolment).join(ClassUnit, ClassUnit.id == Enrolment.class_unit_id)
                                       .where(ClassUnit.year_id == self.source.id,
                                              Enrolment.student_id.in_(list(self.placed)))).all()
        for enrolment in open_ones:
            if enrolment.end is None or enrolment.end > self.source.end:
                enrolment.end = self.source.end
        for outcome in outcomes:
            if outcome.student.id not in self.placed:
                continue
            student, new = outcome.student, self.placed[outcome.student.id]
            student.class_unit = new
            if new is None:
                student.left_on = self.source.end
            else:
                db.session.add(Enrolment(school_id=student.school_id, student=student, class_unit=new,
                                         start=self.year.start))
        db.session.flush()
        return {sid: cls for sid, cls in self.placed.items() if cls is not None}

    def _staying(self, student_ids) -> list[int]:
        return [sid for sid in student_ids if self.placed.get(sid) is not None]

    def _targets(self) -> dict[tuple[str, int], object]:
        """(kind, old id) → the new group, stream or plan of the students who go on."""
        out: dict[tuple[str, int], object] = {}
        for group in db.session.scalars(select(StudyGroup).where(StudyGroup.class_unit_id.in_(list(self.successor)))):
            new_class = self.successor[group.class_unit_id]
            members = [s for s in group.students if self.placed.get(s.id) is new_class]
            out[("group", group.id)] = StudyGroup(school_id=group.school_id, class_unit_id=new_class.id,
                                                  name=group.name, subject_id=group.subject_id, students=members)
        for stream in db.session.scalars(select(Stream).where(Stream.year_id == self.source.id)):
            members = [s for s in stream.students if self.placed.get(s.id) is not None]
            out[("stream", stream.id)] = Stream(school_id=stream.school_id, year_id=self.year.id, name=stream.name,
                                                students=members)  # ids, not relations: the freeze reads them
        for plan in db.session.scalars(select(IndividualPlan).where(IndividualPlan.year_id == self.source.id)):
            if self.placed.get(plan.student_id) is not None:
                out[("plan", plan.id)] = IndividualPlan(school_id=plan.school_id, student_id=plan.student_id,
                                                        subject_id=plan.subject_id, year=self.year, reason=plan.reason)
        db.session.add_all(out.values())
        return out

    def _assignments(self, targets) -> dict[int, TeachingAssignment]:
        out = {}
        for old in db.session.scalars(select(TeachingAssignment).where(TeachingAssignment.year_id == self.source.id)
                                      .order_by(TeachingAssignment.id)):
            if old.class_unit_id:
                target = {"class_unit": self.successor.get(old.class_unit_id)}
            else:
                kind, old_id = next((k, i) for k, i in (("group", old.group_id), ("stream", old.stream_id),
                                                          ("plan", old.plan_id)) if i)
                target = {kind: targets.get((kind, old_id))}
            if next(iter(target.values())) is None:
                continue
            out[old.id] = TeachingAssignment(school_id=old.school_id, year=self.year, teacher_id=old.teacher_id,
                                             subject_id=old.subject_id, weekly_hours=old.weekly_hours, **target)
        db.session.add_all(out.values())
        return out

    def _curriculum(self) -> int:
        holidays = holidays_of_year(self.year.id)
        count = 0
        for item in db.session.scalars(select(CurriculumItem).where(
                CurriculumItem.class_unit_id.in_(list(self.successor)))):
            cls, period = self.successor[item.class_unit_id], self.periods.get(item.period_id)
            if period is None:
                continue
            per_week = cls.school.study_days_per_week
            days = len(study_days(period.start, period.end, cls.grade, holidays, per_week))
            db.session.add(CurriculumItem(school_id=item.school_id, class_unit=cls, subject_id=item.subject_id,
                                          period=period, weekly_hours=item.weekly_hours,
                                          planned_hours=planned_hours(item.weekly_hours, days, per_week)))
            count += 1
        return count

    def _timetable(self, assignments: dict[int, TeachingAssignment]) -> int:
        count = 0
        for entry in db.session.scalars(select(TimetableEntry).where(
                TimetableEntry.assignment_id.in_(list(assignments))).order_by(TimetableEntry.id)):
            db.session.add(TimetableEntry(
                school_id=entry.school_id, assignment=assignments[entry.assignment_id], weekday=entry.weekday,
                bell_slot_id=entry.bell_slot_id, room=entry.room,
                valid_from=shifted(entry.valid_from, self.source, self.year),
                valid_to=shifted(entry.valid_to, self.source, self.year)))
            count += 1
        return count

    def teaching(self) -> dict[str, int]:
        """Groups, stream, plans, assignments, curriculum and timetable of the new year; returns counts."""
        targets = self._targets()
        db.session.flush()
        assignments = self._assignments(targets)
        db.session.flush()
        counts = {"assignments": len(assignments), "curriculum": self._curriculum(),
                  "timetable": self._timetable(assignments)}
        db.session.flush()
        return counts
