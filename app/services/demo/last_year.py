"""The demo's last year (issue 18): the year before `today`'s, closed as `school new-year` leaves it — its
calendar with every period closed, the classes one grade down with this year's students (grade 1 pupils are
new), last year's grade 11 with its graduates, one pupil who left in the winter, the year finals and the
decisions: promoted, promoted conditionally with a subject owed, retained (this year in the same grade),
graduated. Bulk inserts, drawn from their own random stream so that this year's data stay as they were."""
import datetime as dt
import random

from sqlalchemy import insert, select, update

from app.extensions import db
from app.models import (
    AcademicYear,
    AssessmentMode,
    ClassUnit,
    Enrolment,
    FinalGrade,
    FinalStatus,
    FinalValue,
    PeriodKind,
    PromotionDecision,
    PromotionOutcome,
    ReportingPeriod,
    Student,
)
from app.services.assessment import is_pass_fail, mode_in, rules_of
from app.services.bulk import insert_rows
from app.services.consent import electronic_recipients
from app.services.demo import names
from app.services.demo.calendar import build_calendar
from app.services.demo.curriculum import WEEKLY_HOURS
from app.services.demo.results import record_receipts
from app.services.demo.school import DemoSchool

GRADUATES = (18, 24)  # pupils of each of last year's grade 11 classes


class LastYearBuilder:
    """Last year of a DemoSchool, deterministic for the seed."""

    def __init__(self, demo: DemoSchool, seed: int, today: dt.date):
        self.demo, self.rng, self.today = demo, random.Random(seed * 7919 + 18), today
        self.rules = rules_of(demo.school.id)
        self.finals: list[dict] = []
        self.decisions: list[dict] = []

    def build(self) -> dict[str, int]:
        """Calendar, classes, enrolments, finals and decisions of last year; returns counts."""
        school = self.demo.school
        year, periods, holidays = build_calendar(school, self.today.replace(year=self.today.year - 1))
        db.session.add_all([year, *periods, *holidays])
        db.session.flush()
        self.year = year
        self.period = next(p for p in periods if p.kind == PeriodKind.year)
        self.decided = dt.datetime.combine(self.period.end, dt.time(15, 0))
        classes = self._classes()
        placed = self._pupils(classes)
        placed += self._graduates(classes) + self._leaver(classes)
        insert_rows(Enrolment, [
            {"school_id": school.id, "student_id": sid, "class_unit_id": cls.id, "start": year.start,
             "end": end or year.end} for sid, cls, _outcome, _next, end in placed])
        self._results(placed)
        db.session.execute(update(ReportingPeriod).where(ReportingPeriod.year_id == year.id).values(closed=True))
        db.session.execute(update(AcademicYear).where(AcademicYear.id == year.id).values(closed=True))
        outcomes = [d["outcome"] for d in self.decisions]
        return {"last_year": year.name, "last_finals": len(self.finals), "decisions": len(self.decisions),
                **{f"last_{kind.value}": outcomes.count(kind.value) for kind in PromotionOutcome}}

    def _class(self, grade: int, letter: str, teacher_id: int | None) -> ClassUnit:
        return ClassUnit(school=self.demo.school, year=self.year, grade=grade, letter=letter,
                         class_teacher_id=teacher_id,
                         period_kind=PeriodKind.half_year if grade >= 10 else PeriodKind.quarter)

    def _classes(self) -> dict[tuple[int, str], ClassUnit]:
        """Each class of this year above grade 1 was last year's class a grade lower; last year's grade 11
        (the letters of this year's) has left."""
        out = {}
        for cls in self.demo.classes:
            if cls.grade >= 2:
                out[(cls.grade - 1, cls.letter)] = self._class(cls.grade - 1, cls.letter, cls.class_teacher_id)
            if cls.grade == 11:
                out[(11, cls.letter)] = self._class(11, cls.letter, cls.class_teacher_id)
        db.session.add_all(out.values())
        db.session.flush()
        return out

    def _pupils(self, classes) -> list[tuple]:
        """(student id, last year's class, outcome, this year's class, end) of this year's pupils above grade 1:
        one retained (last year in the same grade), a few promoted conditionally, grade 9 graduates."""
        rng, out = self.rng, []
        candidates = [c for c in self.demo.classes if 2 <= c.grade <= 10 and (c.grade, c.letter) in classes]
        retained = {rng.choice(self.demo.student_ids[c.id]) for c in rng.sample(candidates, min(1, len(candidates)))}
        for cls in self.demo.classes:
            if cls.grade < 2:
                continue
            for sid in self.demo.student_ids[cls.id]:
                if sid in retained:
                    out.append((sid, classes[(cls.grade, cls.letter)], PromotionOutcome.retained, cls, None))
                    continue
                before = cls.grade - 1
                kind = PromotionOutcome.graduated if before == 9 else PromotionOutcome.promoted
                if kind == PromotionOutcome.promoted and before >= 2 and rng.random() < 0.02:
                    kind = PromotionOutcome.conditional
                out.append((sid, classes[(before, cls.letter)], kind, cls, None))
        return out

    def _new_students(self, cls: ClassUnit, count: int, left: dt.date) -> list[int]:
        rng = self.rng
        entered = dt.date(self.year.start.year - cls.grade + 1, 9, 1)
        rows = []
        for n in range(count):
            male = rng.random() < 0.5
            surname, name, patronymic = names.person(rng, male)
            rows.append({"school_id": cls.school_id, "surname": surname, "name": name, "patronymic": patronymic,
                         "birth_date": entered - dt.timedelta(days=rng.randint(6 * 365 + 180, 7 * 365 + 300)),
                         "file_number": f"{entered.year}-{cls.grade}{cls.letter}{n + 1:03d}", "class_unit_id": None,
                         "enrolled_on": entered, "left_on": left})
        return db.session.scalars(insert(Student).returning(Student.id, sort_by_parameter_order=True), rows).all()

    def _graduates(self, classes) -> list[tuple]:
        """Last year's grade 11: they finished school in June."""
        out = []
        for (grade, _letter), cls in sorted(classes.items()):
            if grade == 11:
                ids = self._new_students(cls, self.rng.randint(*GRADUATES), self.year.end)
                out += [(sid, cls, PromotionOutcome.graduated, None, None) for sid in ids]
        return out

    def _leaver(self, classes) -> list[tuple]:
        """One pupil who left for another school in February."""
        cls = next((c for (grade, _), c in sorted(classes.items()) if grade >= 2), None)
        if cls is None:
            return []
        day = dt.date(self.year.start.year + 1, 2, 13)
        return [(self._new_students(cls, 1, day)[0], cls, PromotionOutcome.left, None, day)]

    def _results(self, placed) -> None:
        """Year finals (a debt for the conditional and the retained) and the decisions."""
        subjects = self.demo.subjects
        electronic = electronic_recipients([sid for sid, *_ in placed], self.today)
        for sid, cls, kind, nxt, _end in placed:
            owed = []
            if kind != PromotionOutcome.left:
                owed = self._finals(sid, cls, kind, sid in electronic, subjects)
            self.decisions.append({
                "school_id": cls.school_id, "year_id": self.year.id, "student_id": sid, "class_unit_id": cls.id,
                "next_class_id": nxt.id if nxt is not None else None, "outcome": kind.value,
                "owed": ", ".join(owed), "decided_on": self.period.end + dt.timedelta(days=3),
                "decided_by": "demo"})
        insert_rows(FinalGrade, self.finals)
        record_receipts(select(FinalGrade).where(FinalGrade.period_id == self.period.id,
                                                 FinalGrade.published_at.is_not(None)), "decided_at")
        insert_rows(PromotionDecision, self.decisions)

    def _finals(self, sid: int, cls: ClassUnit, kind: PromotionOutcome, electronic: bool, subjects) -> list[str]:
        rng = self.rng
        ability = rng.choices((5, 4, 3), (0.2, 0.45, 0.35))[0]
        marked = [n for n in WEEKLY_HOURS[cls.grade] if n in subjects
                  and mode_in(self.rules, cls.grade, subjects[n].id) != AssessmentMode.unmarked]
        debts = {PromotionOutcome.conditional: 1, PromotionOutcome.retained: 3}.get(kind, 0)
        owed = sorted(rng.sample([n for n in marked if not subjects[n].pass_fail], debts)) if debts else []
        for name in marked:
            subject = subjects[name]
            if is_pass_fail(subject, mode_in(self.rules, cls.grade, subject.id)):
                value = FinalValue.passed.value
            else:
                value = "2" if name in owed else str(min(5, max(3, ability + rng.choice((-1, 0, 0, 0, 1)))))
            self.finals.append({
                "school_id": cls.school_id, "student_id": sid, "subject_id": subject.id, "period_id": self.period.id,
                "value": value, "status": FinalStatus.final.value, "result_date": self.period.end,
                "decided_by": "demo", "decided_at": self.decided, "deferral_reason": "", "version": 1,
                "published_at": self.decided + dt.timedelta(minutes=rng.randint(5, 300)) if electronic else None})
        return owed
