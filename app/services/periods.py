"""Closing and reopening a reporting period leave a history row (who, when, why), audited like every
change of results: a reopened period is editable again until the administration closes it anew."""

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import PeriodKind, PeriodStatusChange, ReportingPeriod
from app.services import clock
from app.services.errors import RuleViolation
from app.services.journal import Actor

CLOSED, REOPENED = "closed", "reopened"
REASON_MAX = 500


def record_status(period: ReportingPeriod, action: str, actor: Actor, reason: str = "") -> PeriodStatusChange:
    """Add the history row of a close or reopen (the audit listener records it too)."""
    row = PeriodStatusChange(school_id=period.school_id, period=period, action=action, reason=reason,
                             changed_by=actor.username, changed_at=clock.utcnow())
    db.session.add(row)
    return row


def reopen_period(actor: Actor, period_id: int, reason: str) -> ReportingPeriod:
    """The administration reopens a closed period with a recorded reason; refused while the year that
    contains it is closed (its rows would stay frozen by the year)."""
    if not (actor.administration or actor.scope.everything):
        raise RuleViolation(_l("Only the administration reopens a period."))
    period = db.session.get(ReportingPeriod, period_id)
    if period is None or not (actor.scope.everything or period.school_id == actor.scope.school_id):
        raise RuleViolation(_l("Choose a reporting period of your school."), "period")
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_l("Give the reason for reopening the period: it is kept in its history."), "reason")
    if len(reason) > REASON_MAX:
        raise RuleViolation(_l("The reason is longer than %(max)d characters.", max=REASON_MAX), "reason")
    if not period.closed:
        raise RuleViolation(_l("The period «%(period)s» is not closed.", period=period.title))
    if period.kind != PeriodKind.year:
        year = db.session.scalar(select(ReportingPeriod).where(
            ReportingPeriod.year_id == period.year_id, ReportingPeriod.kind == PeriodKind.year,
            ReportingPeriod.closed.is_(True)))
        if year is not None:
            raise RuleViolation(_l("Reopen «%(year)s» first: the closed year freezes all its periods.",
                                   year=year.title))
    period.closed = False
    record_status(period, REOPENED, actor, reason)
    db.session.flush()
    return period


def history(period_ids) -> dict[int, list[PeriodStatusChange]]:
    """Period id → its closes and reopens, newest first."""
    out: dict[int, list[PeriodStatusChange]] = {}
    if not period_ids:
        return out
    for row in db.session.scalars(select(PeriodStatusChange).where(PeriodStatusChange.period_id.in_(period_ids))
                                  .order_by(PeriodStatusChange.changed_at.desc(), PeriodStatusChange.id.desc())):
        out.setdefault(row.period_id, []).append(row)
    return out
