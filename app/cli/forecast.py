"""`flask --app run forecast backtest|notify`: measure the forecast on closed periods, compose the
families' forecast digests."""
import datetime as dt

import click
from flask.cli import AppGroup
from flask_babel import gettext as _

from app.cli.common import parse_day
from app.extensions import db

forecast_cli = AppGroup("forecast", help="Forecast of final success: backtest, families' digests.")


@forecast_cli.command("backtest")
@click.option("--midpoint", type=click.FloatRange(0, 1, min_open=True), default=0.5, show_default=True,
              help="Share of each period whose marks the forecast sees (0 < x ≤ 1).")
def backtest_command(midpoint: float) -> None:
    """Replay closed periods: the forecast from marks up to the midpoint vs the actual final, and the
    baseline (plain rounding of the mid-period average)."""
    from app.services.forecast_backtest import backtest

    result = backtest(midpoint)
    click.echo(_("Closed periods: %(periods)d; numeric finals: %(finals)d; without marks by the midpoint: "
                 "%(none)d; compared: %(compared)d; midpoint: %(mid)d%% of each period.",
                 periods=result.periods, finals=result.finals, none=result.without_marks,
                 compared=result.compared, mid=round(midpoint * 100)))
    if not result.compared:
        click.echo(_("Nothing to compare: no closed period has numeric finals with marks before its midpoint."))
        return
    width = 34
    exact_label, within_label = _("exact"), _("within one")
    click.echo(f"{'':{width}}{exact_label:>16}{within_label:>16}")
    for label, score in ((_("forecast"), result.forecast), (_("thresholds alone"), result.thresholds),
                         (_("baseline: rounded average"), result.baseline)):
        click.echo(f"{label:{width}}{score.exact:>7} {result.rate(score.exact):6.1f}%"
                   f"{score.within_one:>8} {result.rate(score.within_one):6.1f}%")
    exact = result.rate(result.forecast.exact) - result.rate(result.baseline.exact)
    within = result.rate(result.forecast.within_one) - result.rate(result.baseline.within_one)
    click.echo(_("Forecast minus baseline: %(exact)+.1f points exact, %(within)+.1f points within one.",
                 exact=exact, within=within))


@forecast_cli.command("notify")
@click.option("--date", "day", callback=parse_day, default=None, help="The digests' day, YYYY-MM-DD (default: today).")
def notify_command(day: dt.date | None) -> None:
    """Compose each family's forecast digest as a notification (consented families only; once a day)."""
    from app.services import clock
    from app.services.forecast_notify import compose_digests

    result = compose_digests(day or clock.today())
    db.session.commit()
    click.echo(_("Forecast digests composed: %(composed)d; skipped as paper recipients: %(paper)d; "
                 "already composed this day: %(already)d; without marks yet: %(none)d.",
                 composed=result.composed, paper=result.paper, already=result.already, none=result.no_marks))
