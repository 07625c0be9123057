"""The 24-hour rule (regulation point 6, SPEC §6): a final grade or an exam result must be
acknowledged by the portal within 24 hours of the moment the family became entitled to it — the later
of its result time (a final's `decided_at`; an exam result's `result_date` as the school recorded it,
from 00:00 school time, not when it was typed in) and the start of the family's consent (the spell in
force when it was delivered, or now). Results not acknowledged are listed only for families who receive
data electronically now (the others get paper); late acknowledgements are chosen by their delivery time."""
import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import ExamResult, FinalGrade, FinalStatus
from app.services import clock
from app.services.consent import consent_spells, electronic_recipients

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
    since: dt.datetime  # when the clock started: the result, or the family's consent if later
    deadline: dt.datetime
    published_at: dt.datetime | None
    state: str

    @property
    def is_breach(self) -> bool:
        return self.state in (BREACH, LATE)


def _state(since, published_at, now, hours: int, warn: int) -> str | None:
    deadline = since + dt.timedelta(hours=hours)
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
    since: dt.datetime
    state: str


def day_start(day: dt.date) -> dt.datetime:
    """00:00 of a school day (the school's time zone, BABEL_DEFAULT_TIMEZONE) in naive UTC."""
    zone = ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC).replace(tzinfo=None)


def _entitled_since(result_at: dt.datetime, published_at: dt.datetime | None, spells: list) -> dt.datetime | None:
    """When the family became entitled to the result: the later of the result and the start of the consent
    spell in force when it was delivered (not delivered: the current spell; None when there is none)."""
    for first, ended in reversed(spells):
        start, end = day_start(first), ended and day_start(ended)
        if published_at is None:
            return max(result_at, start) if end is None else None
        if start <= published_at and (end is None or published_at < end):
            return max(result_at, start)
    return None if published_at is None else result_at


def _flagged(now: dt.datetime, days: int, school_id: int | None) -> list[Flagged]:
    """The results to list, judged on a few columns: every one still not acknowledged (of families who
    receive data electronically now), and those acknowledged late in the last `days` days (by the time of
    the acknowledgement); names are read for the flagged ones only."""
    config = current_app.config
    hours, warn = config["EXCHANGE_SLA_HOURS"], config["EXCHANGE_SLA_WARN_HOURS"]
    window = now - dt.timedelta(days=days)
    finals = select(FinalGrade.id, FinalGrade.student_id, FinalGrade.decided_at, FinalGrade.published_at).where(
        FinalGrade.status == FinalStatus.final, FinalGrade.decided_at.is_not(None),
        or_(FinalGrade.published_at.is_(None), FinalGrade.published_at >= window))
    exams = select(ExamResult.id, ExamResult.student_id, ExamResult.result_date, ExamResult.published_at).where(
        or_(ExamResult.published_at.is_(None), ExamResult.published_at >= window))
    if school_id:
        finals, exams = finals.where(FinalGrade.school_id == school_id), exams.where(ExamResult.school_id == school_id)
    rows = [("final_grade", *r) for r in db.session.execute(finals)] + \
           [("exam_result", rid, sid, day_start(day), published)
            for rid, sid, day, published in db.session.execute(exams)]
    students = sorted({r[2] for r in rows})
    electronic, spells = electronic_recipients(students, clock.today()), consent_spells(students, clock.today())
    judged = []
    for kind, rid, sid, result_at, published in rows:
        if published is None and sid not in electronic:
            continue
        since = _entitled_since(result_at, published, spells[sid])
        state = since and _state(since, published, now, hours, warn)
        if state:
            judged.append(Flagged(kind, rid, sid, result_at, since, state))
    return judged


def report(now: dt.datetime, days: int = WINDOW_DAYS, school_id: int | None = None) -> list[SlaItem]:
    """Results that breached the rule (never acknowledged: any time; acknowledged late in the last `days`
    days) or are about to, by deadline."""
    flagged = _flagged(now, days, school_id)
    finals = {f.id: f for f in db.session.scalars(select(FinalGrade).options(
        joinedload(FinalGrade.student), joinedload(FinalGrade.subject), joinedload(FinalGrade.period)).where(
        FinalGrade.id.in_([j.id for j in flagged if j.kind == "final_grade"])))}
    exams = {e.id: e for e in db.session.scalars(select(ExamResult).options(joinedload(ExamResult.student)).where(
        ExamResult.id.in_([j.id for j in flagged if j.kind == "exam_result"])))}
    hours = current_app.config["EXCHANGE_SLA_HOURS"]
    items = []
    for kind, rid, sid, result_at, since, state in flagged:
        row = finals[rid] if kind == "final_grade" else exams[rid]
        what = f"{row.subject}, {row.period}" if kind == "final_grade" else row.name
        items.append(SlaItem(kind, rid, row.student.full_name, sid, what, result_at, since,
                             since + dt.timedelta(hours=hours), row.published_at, state))
    return sorted(items, key=lambda i: i.deadline)


def breaches(now: dt.datetime, days: int = WINDOW_DAYS, school_id: int | None = None) -> int:
    """How many results broke the rule (as `report` counts them; the dashboard's number)."""
    return sum(state in (BREACH, LATE) for *_, state in _flagged(now, days, school_id))
