"""`flask --app run exchange run|status|sla|retry|sync|prune`: the portal exchange job and its checks."""
import datetime as dt
import sys

import click
from flask import current_app
from flask.cli import AppGroup
from flask_babel import gettext as _

from app.cli.common import fail
from app.exchange.sla import WINDOW_DAYS
from app.extensions import db


def _worker(value: str | None) -> str | None:
    if value is not None and not 0 < len(value.strip()) <= 60:
        raise click.BadParameter(_("give a name of 1 to 60 characters"))
    return value


exchange_cli = AppGroup("exchange", help="Portal exchange: send the outbox, status, the 24-hour rule.")


@exchange_cli.command("run")
@click.option("--once", is_flag=True, help="Send what is due now and stop (default: keep polling).")
@click.option("--batch", type=click.IntRange(1, 5000), default=None, help="Messages per request.")
@click.option("--worker", default=None, callback=lambda _c, _p, v: _worker(v),
              help="Name shown on claimed messages (default host:pid; at most 60 characters).")
def run_command(once: bool, batch: int | None, worker: str | None) -> None:
    """Deliver notifications and send due outbox messages to PORTAL_URL."""
    from app.exchange.sender import run
    from app.exchange.transport import check_settings

    problem = check_settings(current_app.config)
    if problem:
        raise click.UsageError(problem)

    def report(result) -> None:
        if result.portal_down:
            click.echo(_("Portal unavailable: %(reason)s — the messages wait for the next attempt.",
                         reason=result.portal_down), err=True)

    try:
        total = run(once=once, batch=batch, worker=worker, report=report)
    except KeyboardInterrupt:
        click.echo(_("Stopped."))
        return
    click.echo(_("Batches: %(batches)d; accepted: %(accepted)d; rejected: %(rejected)d; unacknowledged: "
                 "%(unack)d (of them parked as failed: %(parked)d); cancelled without consent: %(cancelled)d.",
                 batches=total.batches, accepted=total.accepted, rejected=total.rejected,
                 unack=total.unacknowledged, parked=total.parked, cancelled=total.cancelled))
    if total.portal_down:
        sys.exit(2)


@exchange_cli.command("status")
def status_command() -> None:
    """Queued, sending, accepted, failed, cancelled; the oldest waiting message's age."""
    from app.exchange.outbox import age_text, state
    from app.models import OutboxStatus
    from app.services import clock

    now, outbox = clock.utcnow(), state()
    click.echo(_("Queued: %(queued)d; sending: %(sending)d; accepted: %(accepted)d; failed: %(failed)d; "
                 "cancelled: %(cancelled)d.", **{s.value: outbox.count(s) for s in OutboxStatus}))
    age = outbox.oldest_age(now)
    click.echo(_("Oldest waiting: %(age)s.", age=age_text(age)) if age else _("Nothing is waiting."))
    if outbox.last_accepted:
        click.echo(_("Last accepted by the portal: %(at)s UTC.", at=outbox.last_accepted.strftime("%d.%m.%Y %H:%M")))
    if outbox.archived:
        click.echo(_("In the archive (accepted, moved by «exchange prune»): %(count)d.", count=outbox.archived))


@exchange_cli.command("sla")
@click.option("--days", type=click.IntRange(1, 400), default=WINDOW_DAYS, show_default=True,
              help="Also list results acknowledged late in the last N days (unacknowledged ones: always).")
def sla_command(days: int) -> None:
    """Final grades and exam results not acknowledged within 24 hours (and those about to be late);
    exit code 1 when there is a breach (for cron alerts)."""
    from app.exchange.sla import STATE_LABELS, report
    from app.services import clock

    items = report(clock.utcnow(), days)
    for item in items:
        line = _("%(state)s: %(student)s — %(what)s; result %(result)s, deadline %(deadline)s, acknowledged "
                 "%(published)s (UTC)", state=STATE_LABELS[item.state], student=item.student, what=item.what,
                 result=f"{item.result_at:%d.%m.%Y %H:%M}", deadline=f"{item.deadline:%d.%m.%Y %H:%M}",
                 published=f"{item.published_at:%d.%m.%Y %H:%M}" if item.published_at else "—")
        if item.since > item.result_at:  # the clock started with the family's consent
            line += "; " + _("the family's consent from %(at)s", at=f"{item.since:%d.%m.%Y %H:%M}")
        click.echo(line)
    broken = sum(item.is_breach for item in items)
    click.echo(_("Breaches of the 24-hour rule: %(breaches)d (never acknowledged, or late in the last %(days)d "
                 "days); about to breach: %(soon)d.", breaches=broken, soon=len(items) - broken, days=days))
    if broken:
        sys.exit(1)


@exchange_cli.command("retry")
def retry_command() -> None:
    """Put failed outbox messages and failed notifications back in the queue."""
    from app.exchange.delivery import retry_failed_notifications
    from app.exchange.outbox import retry_failed

    count, notices = retry_failed(), retry_failed_notifications()
    db.session.commit()
    click.echo(_("Messages queued again: %(count)d.", count=count) + " " +
               _("Notifications to deliver again: %(count)d.", count=notices))


@exchange_cli.command("sync")
def sync_command() -> None:
    """Queue the full diary of each consented student who has not had one (first start of the exchange)."""
    from app.exchange.outbox import initial_sync

    count = initial_sync()
    db.session.commit()
    click.echo(_("Initial syncs queued: %(count)d.", count=count))


@exchange_cli.command("prune")
@click.option("--before", "before", required=True, metavar="YYYY-MM-DD",
              help="Move messages the portal accepted before this day (school time) to the archive.")
def prune_command(before: str) -> None:
    """Move accepted messages older than a day to the archive, so a year of history does not slow the job."""
    from app.exchange.outbox import prune
    from app.exchange.sla import day_start
    from app.services import clock

    try:
        day = dt.date.fromisoformat(before)
    except ValueError:
        fail(_("the date must be written YYYY-MM-DD, got «%(value)s»", value=before))
    if day > clock.today():
        fail(_("the day must not be later than today (%(today)s)", today=f"{clock.today():%d.%m.%Y}"))
    count = prune(day_start(day))
    click.echo(_("Moved to the archive: %(count)d messages accepted by the portal before %(day)s.",
                 count=count, day=f"{day:%d.%m.%Y}"))
