"""What every command group shares: a clear failure and the date option."""
import datetime as dt
import sys

import click
from flask_babel import gettext as _


def fail(message: str, code: int = 2) -> None:
    """Print a clear message to stderr and exit with `code` (2: bad arguments, 1: the work was refused)."""
    click.echo(_("Error: %(message)s", message=message), err=True)
    sys.exit(code)


def parse_day(_ctx, _param, value: str | None) -> dt.date | None:
    """Click callback: YYYY-MM-DD, with a clear error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(_("the date must be written YYYY-MM-DD, got «%(value)s»", value=value)) from None
