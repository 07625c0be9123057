"""The demo's recommendations (рекомендации учителей, SPEC §1 p.2): in each class journal the subject's own
teacher advises the student with the lowest average so far and the one with the highest, dated on the
journal's last held lesson. Their own random draws: the rest of the demo stays as it was."""
import datetime as dt
import random

from sqlalchemy import func, select

from app.extensions import db
from app.models import Lesson, LessonStatus, PeriodKind, Recommendation, ReportingPeriod, TeachingAssignment
from app.services.assessment import mode_in, rules_of
from app.services.bulk import insert_rows
from app.services.demo.school import DemoSchool
from app.services.results import period_marks

WEAK = ["Повторить правила по последним темам и выполнить дополнительные упражнения из учебника.",
        "Есть пробелы в материале: прошу приходить на консультации по вторникам после уроков.",
        "Регулярно выполнять домашние задания; пропущенные темы разобрать с учителем."]
STRONG = ["Рекомендую принять участие в олимпиаде по предмету и в школьном кружке.",
          "Хорошие результаты: стоит попробовать задания повышенной сложности."]


class AdviceBuilder:
    """Recommendations of the demo's teachers; deterministic for `today`."""

    def __init__(self, demo: DemoSchool, today: dt.date):
        self.demo, self.today, self.rng = demo, today, random.Random(today.toordinal() + 2)

    def build(self) -> dict[str, int]:
        """Two recommendations per class journal with marks; returns the count."""
        year = db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.year_id == self.demo.year.id,
                                                               ReportingPeriod.kind == PeriodKind.year))
        if year is None or self.today < year.start:
            return {"recommendations": 0}
        averages = period_marks(year, up_to=self.today)
        last = dict(db.session.execute(select(Lesson.assignment_id, func.max(Lesson.date)).where(
            Lesson.school_id == self.demo.school.id, Lesson.status == LessonStatus.held,
            Lesson.date <= self.today).group_by(Lesson.assignment_id)).all())
        rules = rules_of(self.demo.school.id)
        grades = {c.id: c.grade for c in self.demo.classes}
        rows = []
        for a in db.session.scalars(select(TeachingAssignment).where(
                TeachingAssignment.school_id == self.demo.school.id, TeachingAssignment.class_unit_id.is_not(None))
                .order_by(TeachingAssignment.id)):
            if a.id not in last or mode_in(rules, grades.get(a.class_unit_id), a.subject_id) is not None:
                continue
            marked = sorted((averages[(sid, a.subject_id)][0], sid) for sid in self.demo.student_ids[a.class_unit_id]
                            if (sid, a.subject_id) in averages)
            for (_avg, sid), texts in ((marked[0], WEAK), (marked[-1], STRONG))[:len(marked)]:
                rows.append({"school_id": a.school_id, "teacher_id": a.teacher_id, "student_id": sid,
                             "subject_id": a.subject_id, "text": self.rng.choice(texts), "date": last[a.id]})
        if rows:
            insert_rows(Recommendation, rows)
        return {"recommendations": len(rows)}
