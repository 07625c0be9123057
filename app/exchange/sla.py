"""The 24-hour rule (regulation point 6, SPEC §6): a final grade or an exam result must be
acknowledged by the portal within 24 hours of its result. The result time is when it was recorded
in the journal: a final's `decided_at`, an exam result's `recorded_at`. Only families who receive
data electronically are concerned (the others get paper)."""
import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import ExamResult, FinalGrade, FinalStatus
from app.services import clock
from app.services.consent import electronic_recipients

BREACH, LATE, DUE_SOON = "breach", "late", "due_soon"
WINDOW_DAYS = 7  # late acknowledgements are listed for the last week unless asked otherwise
STATE_LABELS = {BREACH: _l("not delivered, the deadline has passed"), LATE: _l("delivered late"),
                DUE_SOON: _l("the deadline is near")}


@dataclass(frozen=True)
class SlaItem:
    """One result and where it stands against its deadline."""

    kind: str
    id: int
    student: str
    student_id: int
    what: str
    result_at: dt.datetime
    deadline: dt.datetime
    published_at: dt.datetime | None
    state: str

    @property
    def is_breach(self) -> bool:
        return self.state in (BREACH, LATE)


def _state(result_at, published_at, now, hours: int, warn: int) -> str | None:
    deadline = result_at + dt.timedelta(hours=hours)
    if published_at is not None:
        return LATE if published_at > deadline else None
    if now > deadline:
        return BREACH
    return DUE_SOON if deadline - now <= dt.timedelta(hours=warn) else None


class Flagged(NamedTuple):
    kind: str
    id: int
    student_id: int
    result_at: dt.datetime
    state: str


def _flagged(now: dt.datetime, days: int, school_id: int | None) -> list[Flagged]:
    """The results to list, judged on a few columns: every one still not acknowledged, and those of the
    last `days` days acknowledged late; names are read for the flagged ones only."""
    config = current_app.config
    hours, warn = config["EXCHANGE_SLA_HOURS"], config["EXCHANGE_SLA_WARN_HOURS"]
    since = now - dt.timedelta(days=days)
    finals = select(FinalGrade.id, FinalGrade.student_id, FinalGrade.decided_at, FinalGrade.published_at).where(
        FinalGrade.status == FinalStatus.final, FinalGrade.decided_at.is_not(None),
        or_(FinalGrade.published_at.is_(None), FinalGrade.decided_at >= since))
    exams = select(ExamResult.id, ExamResult.student_id, ExamResult.recorded_at, ExamResult.published_at).where(
        or_(ExamResult.published_at.is_(None), ExamResult.recorded_at >= since))
    if school_id:
        finals, exams = finals.where(FinalGrade.school_id == school_id), exams.where(ExamResult.school_id == school_id)
    rows = [("final_grade", *r) for r in db.session.execute(finals)] + \
           [("exam_result", *r) for r in db.session.execute(exams)]
    judged = [Flagged(kind, rid, sid, at, _state(at, published, now, hours, warn))
              for kind, rid, sid, at, published in rows]
    judged = [j for j in judged if j.state]
    electronic = electronic_recipients(sorted({j.student_id for j in judged}), clock.today())
    return [j for j in judged if j.student_id in electronic]


def report(now: dt.datetime, days: int = WINDOW_DAYS, school_id: int | None = None) -> list[SlaItem]:
    """Results that breached the rule (never acknowledged: any time; late: in the last `days` days) or are
    about to, by deadline."""
    flagged = _flagged(now, days, school_id)
    finals = {f.id: f for f in db.session.scalars(select(FinalGrade).options(
        joinedload(FinalGrade.student), joinedload(FinalGrade.subject), joinedload(FinalGrade.period)).where(
        FinalGrade.id.in_([j.id for j in flagged if j.kind == "final_grade"])))}
    exams = {e.id: e for e in db.session.scalars(select(ExamResult).options(joinedload(ExamResult.student)).where(
        ExamResult.id.in_([j.id for j in flagged if j.kind == "exam_result"])))}
    hours = current_app.config["EXCHANGE_SLA_HOURS"]
    items = []
    for kind, rid, sid, result_at, state in flagged:
        row = finals[rid] if kind == "final_grade" else exams[rid]
        what = f"{row.subject}, {row.period}" if kind == "final_grade" else row.name
        items.append(SlaItem(kind, rid, row.student.full_name, sid, what, result_at,
                             result_at + dt.timedelta(hours=hours), row.published_at, state))
    return sorted(items, key=lambda i: i.deadline)


def breaches(now: dt.datetime, days: int = WINDOW_DAYS, school_id: int | None = None) -> int:
    """How many results broke the rule (as `report` counts them; the dashboard's number)."""
    return sum(state in (BREACH, LATE) for *_, state in _flagged(now, days, school_id))
