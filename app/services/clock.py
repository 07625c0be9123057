"""The school's today: the real date, or `SCHOOL_TODAY` (YYYY-MM-DD) for a demo or a benchmark
that replays another day of the year."""
import datetime as dt

from flask import current_app, has_app_context


def today() -> dt.date:
    """Today's date as the journal rules see it."""
    fixed = current_app.config.get("SCHOOL_TODAY") if has_app_context() else None
    return dt.date.fromisoformat(fixed) if fixed else dt.date.today()


def utcnow() -> dt.datetime:
    """The moment now in naive UTC, as the journal stores decisions, deliveries and receipts."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
