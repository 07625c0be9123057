"""Backtest of the forecast (SPEC §4): replay each closed period from the marks up to its midpoint
and compare with the final actually given (numeric finals only).

Three predictions of the same finals are scored: the forecast (`forecast.project`: thresholds on the
average pulled toward the student's other subjects), the thresholds alone on the mid-period
average, and the baseline, plain rounding of the mid-period average (half up, kept within 2–5).
Finals of students with no mark before the midpoint are counted apart: nothing predicts them.
"""
import datetime as dt
import math
from dataclasses import dataclass, field

from sqlalchemy import select

from app.extensions import db
from app.models import FinalGrade, FinalStatus, PeriodKind, ReportingPeriod
from app.models.results import NUMERIC_FINALS
from app.services.forecast import others_mean, project, remaining_share
from app.services.results import grade_for, period_marks


@dataclass
class Score:
    """Hits of one prediction method."""

    exact: int = 0
    within_one: int = 0

    def add(self, predicted: int, actual: int) -> None:
        """Score one prediction."""
        self.exact += predicted == actual
        self.within_one += abs(predicted - actual) <= 1


@dataclass
class Backtest:
    """Counts and scores of a backtest run."""

    midpoint: float
    periods: int = 0
    finals: int = 0
    without_marks: int = 0
    forecast: Score = field(default_factory=Score)
    thresholds: Score = field(default_factory=Score)
    baseline: Score = field(default_factory=Score)

    @property
    def compared(self) -> int:
        """Finals that had marks by the midpoint."""
        return self.finals - self.without_marks

    def rate(self, hits: int) -> float:
        """Hits as a percentage of the compared finals (0 when none)."""
        return 100.0 * hits / self.compared if self.compared else 0.0


def rounded(average: float) -> int:
    """The baseline: the average rounded half up, within 2–5."""
    return min(5, max(2, math.floor(average + 0.5)))


def midpoint_of(period: ReportingPeriod, share: float) -> dt.date:
    """The day `share` of the way through the period."""
    return period.start + dt.timedelta(days=int((period.end - period.start).days * share))


def backtest(midpoint: float = 0.5, school_id: int | None = None) -> Backtest:
    """Replay every closed period (not the year) of the school, or of all schools."""
    query = select(ReportingPeriod).where(ReportingPeriod.closed.is_(True), ReportingPeriod.kind != PeriodKind.year)
    if school_id is not None:
        query = query.where(ReportingPeriod.school_id == school_id)
    result = Backtest(midpoint)
    for period in db.session.scalars(query.order_by(ReportingPeriod.start, ReportingPeriod.id)):
        result.periods += 1
        day = midpoint_of(period, midpoint)
        averages = period_marks(period, up_to=day)
        priors, remaining = others_mean(averages), remaining_share(period, day)
        finals = db.session.execute(select(FinalGrade.student_id, FinalGrade.subject_id, FinalGrade.value).where(
            FinalGrade.period_id == period.id, FinalGrade.status == FinalStatus.final,
            FinalGrade.value.in_(NUMERIC_FINALS))).all()
        for student, subject, value in finals:
            result.finals += 1
            average, count = averages.get((student, subject), (None, 0))
            if average is None:
                result.without_marks += 1
                continue
            actual = value.number
            result.forecast.add(project(average, count, priors.get((student, subject)), remaining), actual)
            result.thresholds.add(grade_for(average), actual)
            result.baseline.add(rounded(average), actual)
    return result
