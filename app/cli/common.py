"""What every command group shares: a clear failure and the date option."""
import datetime as dt
import sys

import click


def fail(message: str) -> None:
    """Print a clear message to stderr and exit non-zero."""
    click.echo(f"Ошибка: {message}", err=True)
    sys.exit(2)


def parse_day(_ctx, _param, value: str | None) -> dt.date | None:
    """Click callback: YYYY-MM-DD, with a clear error."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"дата должна быть в виде ГГГГ-ММ-ДД, получено «{value}»") from None
