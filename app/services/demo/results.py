"""The demo's results: every reporting period that ended before `today` gets its finals (as
proposed from the marks, a few overridden with the teacher's reason, a few н/а, осв for PE exemptions,
two deferred for illness) and is closed; some exam and olympiad results (a winner's or prize-winner's
marks in the subject fit the standing). Results of consented families were delivered by the portal a
few hours after they were recorded (the exchange of those days): each has its accepted outbox message,
and `published_at` is the receipt's time."""
import datetime as dt
import random

from sqlalchemy import select, update

from app.exchange import payloads
from app.exchange.capture import message_row
from app.extensions import db
from app.models import (
    AssessmentMode,
    ExamKind,
    ExamResult,
    FinalGrade,
    FinalStatus,
    FinalValue,
    OutboxMessage,
    OutboxStatus,
    ReportingPeriod,
    TeachingAssignment,
)
from app.services.assessment import is_pass_fail, mode_in, rules_of
from app.services.bulk import insert_rows
from app.services.consent import electronic_recipients
from app.services.demo.school import DemoSchool
from app.services.finals import certified_students, follows
from app.services.membership import grade_of
from app.services.results import period_marks, proposed_final, thresholds

PE = "Физическая культура"
RAISED = ["Итоговая контрольная работа написана на «отлично»", "Устойчивый рост результатов в конце четверти",
          "Выполнен и защищён проект по предмету"]
LOWERED = ["Не сдана итоговая контрольная работа", "Систематически не выполнялись домашние задания"]
OLYMPIAD = "Всероссийская олимпиада школьников, школьный этап"


def record_receipts(query, recorded: str) -> None:
    """The outbox messages that carried the published results, accepted by the portal when the result
    says it was published: `published_at` is the receipt's time, as the exchange job records it."""
    rows = []
    for obj in db.session.scalars(query.execution_options(populate_existing=True)):
        kind, payload = payloads.describe(obj)
        sent = getattr(obj, recorded)
        rows.append(message_row(kind, obj.student_id, obj.school_id, payload, sent, obj.__tablename__, obj.id,
                                getattr(obj, "version", None))
                    | {"status": OutboxStatus.accepted, "attempts": 1, "accepted_at": obj.published_at})
    insert_rows(OutboxMessage, rows)


class ResultsBuilder:
    """Finals of the ended periods and exam results of a DemoSchool; deterministic for the rng."""

    def __init__(self, demo: DemoSchool, rng: random.Random, today: dt.date):
        self.demo, self.rng, self.today = demo, rng, today
        self.lag = random.Random(today.toordinal())  # delivery delays: their own draws, the results' stay as they were
        self.why = random.Random(today.toordinal() + 3)  # teachers' reasons: their own draws too
        self.kinds = {c.period_kind for c in demo.classes}

    def build(self) -> dict[str, int]:
        """Finals of every ended period of the classes' schemes; returns counts."""
        periods = db.session.scalars(select(ReportingPeriod).where(
            ReportingPeriod.year_id == self.demo.year.id, ReportingPeriod.end < self.today,
            ReportingPeriod.kind.in_([k.value for k in self.kinds]))).all()
        assignments = db.session.scalars(select(TeachingAssignment).where(
            TeachingAssignment.school_id == self.demo.school.id).order_by(TeachingAssignment.id)).all()
        quarter_pupils = sorted(s for c in self.demo.classes if c.grade < 10 for s in self.demo.student_ids[c.id])
        exempt = set(self.rng.sample(quarter_pupils, min(2, len(quarter_pupils))))
        finals = deferred = 0
        for period in periods:
            rows = self._finals(period, assignments, exempt)
            insert_rows(FinalGrade, rows)
            record_receipts(select(FinalGrade).where(FinalGrade.period_id == period.id,
                                                    FinalGrade.published_at.is_not(None)), "decided_at")
            finals += len(rows)
            deferred += sum(r["status"] == FinalStatus.deferred.value for r in rows)
            db.session.execute(update(ReportingPeriod).where(ReportingPeriod.id == period.id).values(closed=True))
        return {"finals": finals, "deferred": deferred, "closed_periods": len(periods),
                "exam_results": self._exams()}

    def _finals(self, period: ReportingPeriod, assignments, exempt: set[int]) -> list[dict]:
        subjects = {s.id: s for s in self.demo.subjects.values()}
        rules = rules_of(self.demo.school.id)
        averages = period_marks(period)
        decided = dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time(15, 0))
        electronic = self._electronic(decided.date())
        rows, seen = [], set()
        for a in assignments:
            if not follows(period, a):
                continue
            subject, mode = subjects[a.subject_id], mode_in(rules, grade_of(a), a.subject_id)
            if mode == AssessmentMode.unmarked:
                continue  # no finals where learning is unmarked
            pass_fail = is_pass_fail(subject, mode)
            for student in certified_students(a, period):
                if (student.id, subject.id) in seen:
                    continue
                seen.add((student.id, subject.id))
                average, count = averages.get((student.id, subject.id), (None, 0))
                proposal = None if pass_fail else proposed_final(average, count)
                row = {"school_id": a.school_id, "student_id": student.id, "subject_id": subject.id,
                       "period_id": period.id, "average": average, "status": FinalStatus.final.value,
                       "proposed_value": str(proposal) if proposal else None, "result_date": decided.date(),
                       "decided_by": "demo", "decided_at": decided, "deferral_reason": "", "version": 1,
                       "published_at": self._delivered(decided, student.id in electronic)}
                value = self._value(subject, pass_fail, proposal, student.id in exempt)
                rows.append(row | {"value": value, "decision_reason": self._reason(proposal, value)})
        self._defer(rows)
        self._uncertified(rows)
        return rows

    def _uncertified(self, rows: list[dict]) -> None:
        """At least one н/а (long missed lessons), on its own draw like the deferrals: a small demo's marks
        may leave no student without a proposal."""
        numeric = [r for r in rows if r["value"] and r["value"].isdigit()]
        if numeric and not any(r["value"] == FinalValue.not_certified.value for r in rows):
            row = self.why.choice(numeric)
            row |= {"value": FinalValue.not_certified.value,
                    "decision_reason": self._reason(int(row["proposed_value"] or 0) or None,
                                                    FinalValue.not_certified.value)}

    def _defer(self, rows: list[dict]) -> None:
        """Two numeric finals deferred for illness (their own draws: however the journal's draws go, the
        period has its deferrals)."""
        numeric = [r for r in rows if r["value"] and r["value"].isdigit()]
        for row in self.why.sample(numeric, min(2, len(numeric))):
            row |= {"value": None, "status": FinalStatus.deferred.value, "result_date": None, "published_at": None,
                    "decision_reason": "", "deferral_reason": "Болезнь, справка № " + str(self.why.randint(100, 999)),
                    "deferral_deadline": self.today + dt.timedelta(days=self.why.randint(7, 21))}

    def _electronic(self, day: dt.date) -> set[int]:
        return electronic_recipients([s for ids in self.demo.student_ids.values() for s in ids], day)

    def _delivered(self, recorded: dt.datetime, electronic: bool) -> dt.datetime | None:
        """When the portal acknowledged a consented family's result (within hours); None for paper."""
        return recorded + dt.timedelta(minutes=self.lag.randint(5, 300)) if electronic else None

    def _reason(self, proposal: int | None, value: str) -> str:
        """The teacher's reason for a final other than the proposal (what the control report lists)."""
        if proposal is None or value == str(proposal):
            return ""
        if value == FinalValue.not_certified.value:
            return "Пропустил более половины уроков, контрольные работы не написаны"
        if value == FinalValue.exempt.value:
            return "Освобождение от занятий по заключению врача"
        return self.why.choice(RAISED if value > str(proposal) else LOWERED)

    def _value(self, subject, pass_fail: bool, proposal: int | None, exempt: bool) -> str:
        """The teacher's decision: mostly the proposal, sometimes one up or down."""
        if exempt and subject.name == PE:
            return FinalValue.exempt.value
        if pass_fail:
            return FinalValue.passed.value if self.rng.random() < 0.98 else FinalValue.failed.value
        x = self.rng.random()
        if proposal is None or x > 0.997:  # too few marks, or long missed lessons
            return FinalValue.not_certified.value
        if x < 0.04 and proposal < 5:
            proposal += 1
        elif x > 0.985 and proposal > 2:
            proposal -= 1
        return str(proposal)

    def _exams(self) -> int:
        """School-stage olympiad results in October for a few students of grades 5–11."""
        rng, day = self.rng, dt.date(self.demo.year.start.year, 10, 10)
        if day >= self.today:
            return 0
        subjects = [self.demo.subjects[n] for n in ("Математика", "Русский язык", "Биология", "История")
                    if n in self.demo.subjects]
        rows, recorded = [], dt.datetime.combine(day + dt.timedelta(days=7), dt.time(11, 0))
        first = db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.year_id == self.demo.year.id)
                                  .order_by(ReportingPeriod.start, ReportingPeriod.end).limit(1))
        averages = period_marks(first, up_to=day)  # every scheme's first period starts with the year
        electronic = self._electronic(recorded.date())
        for cls in self.demo.classes:
            if cls.grade < 5:
                continue
            # The school sends its stronger students: three of the class's six best (student, subject) averages.
            best = sorted(((averages[(sid, subj.id)][0], sid, subj.id) for sid in self.demo.student_ids[cls.id]
                           for subj in subjects if averages.get((sid, subj.id), (None, 0))[0] is not None),
                          reverse=True)
            chosen, seen = [], set()
            for _avg, sid, subject_id in best:
                if sid not in seen and len(chosen) < 6:
                    seen.add(sid)
                    chosen.append((sid, subject_id))
            for student, subject_id in rng.sample(chosen, min(3, len(chosen))):
                subject = next(s for s in subjects if s.id == subject_id)
                score = fitting_score(rng.randint(25, 50), averages[(student, subject.id)][0])
                rows.append({"school_id": cls.school_id, "student_id": student, "subject_id": subject.id,
                             "kind": ExamKind.competition.value, "name": f"{OLYMPIAD}: {subject.name}",
                             "date": day, "score": float(score),
                             "grade": "победитель" if score > WINNER else "призёр" if score > PRIZE else "участник",
                             "result_date": recorded.date(), "recorded_at": recorded,
                             "published_at": self._delivered(recorded, student in electronic)})
        if rows:
            insert_rows(ExamResult, rows)
            record_receipts(select(ExamResult).where(ExamResult.school_id == self.demo.school.id,
                                                    ExamResult.published_at.is_not(None)), "recorded_at")
        return len(rows)


# An olympiad's standing fits the student's marks in the subject up to its day: a winner (score above 45)
# has the average of a «5» (≥ 4.60), a prize-winner (above 38) at least that of a «4» (≥ 3.60).
WINNER, PRIZE = 45, 38


def fitting_score(score: int, average: float | None) -> int:
    """The drawn score, capped at the best standing the student's average allows."""
    five, four, _three = thresholds()
    if average is None or average < four:
        return min(score, PRIZE)
    return score if average >= five else min(score, WINNER)
