"""Forecast digests for families (SPEC §1 p.4, §5): one Notification per student and day, composed
only for students whose family may receive data electronically at that date (the consent service's
gate, asked for all students at once); the others are paper recipients. Re-running the same day
adds nothing (the key)."""
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import select

from app.extensions import db
from app.models import Notification, NotificationKind, Student
from app.security.scope import Scope
from app.services.consent import electronic_recipients
from app.services.forecast import RISK_LABELS, ForecastRow, Query, forecast

EVERYTHING = Scope(everything=True)


@dataclass
class Digests:
    """What a run did, student by student."""

    composed: int = 0
    paper: int = 0
    already: int = 0
    no_marks: int = 0


def digest_key(student_id: int, day: dt.date) -> str:
    """The idempotency key: one forecast digest per student and day."""
    return f"forecast:{student_id}:{day.isoformat()}"


def _line(row: ForecastRow) -> str:
    if row.average is None:
        text = _("%(subject)s: no marks yet", subject=row.subject)
    else:
        text = _("%(subject)s: average %(average).2f (%(marks)d marks), projected %(projected)s",
                 subject=row.subject, average=row.average, marks=row.marks, projected=row.projected)
        if row.next_grade is not None:
            text += "; " + _("%(distance).2f more for %(grade)d", distance=row.distance, grade=row.next_grade)
    if row.flags:
        text += " — " + ", ".join(str(RISK_LABELS[f]) for f in row.flags)
    return text


def digest(student: Student, rows: list[ForecastRow], day: dt.date) -> tuple[str, str]:
    """Title and body of a student's digest."""
    title = _("Forecast of final grades: %(period)s", period=rows[0].period)
    head = _("%(student)s, class %(cls)s, on %(date)s:", student=student.full_name, cls=rows[0].class_name,
             date=day.strftime("%d.%m.%Y"))
    return title[:200], "\n".join([head, *(_line(r) for r in rows)])


def compose_digests(day: dt.date) -> Digests:
    """Compose the digests of `day` for every school (flushes; the caller commits)."""
    by_student = defaultdict(list)
    for row in forecast(EVERYTHING, Query(), today=day):
        by_student[row.student_id].append(row)
    keys = {sid: digest_key(sid, day) for sid in by_student}
    existing = set(db.session.scalars(select(Notification.key).where(Notification.key.in_(keys.values())))) \
        if keys else set()
    students = {s.id: s for s in db.session.scalars(select(Student).where(Student.id.in_(keys)))} if keys else {}
    electronic = electronic_recipients(list(by_student), at=day)
    result = Digests()
    for sid, rows in by_student.items():
        if sid not in electronic:
            result.paper += 1
        elif keys[sid] in existing:
            result.already += 1
        elif not any(r.marks for r in rows):
            result.no_marks += 1
        else:
            title, body = digest(students[sid], rows, day)
            db.session.add(Notification(school_id=students[sid].school_id, student_id=sid,
                                        kind=NotificationKind.forecast, period_id=rows[0].period_id,
                                        title=title, body=body, key=keys[sid]))
            result.composed += 1
    db.session.flush()
    return result
