"""Ids from URLs, query strings and JSON bodies: one rule for every API and page.

An id is a whole number from 1 to the largest PostgreSQL `integer`; anything else names no row and
is refused with a clear message before it reaches the database (where a huge number is an overflow
error, a 500, and on PostgreSQL so is any non-number).
"""
import re

from flask_babel import lazy_gettext as _l

from app.services.errors import RuleViolation

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL `integer` (SQLite takes 64 bits, PostgreSQL 32)
_DIGITS = re.compile(r"[0-9]{1,10}")


def as_id(value) -> int | None:
    """The id in `value`, digits (from a URL) or an integer (from JSON), if a row can have it; else None."""
    if isinstance(value, str):
        value = int(value) if _DIGITS.fullmatch(value) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= INT_MAX else None


def id_arg(args, name: str, required: bool = False) -> int | None:
    """The id given as query parameter `name` (None when absent or blank, unless required)."""
    raw = (args.get(name) or "").strip()
    if not raw:
        if required:
            raise RuleViolation(_l("%(name)s is required.", name=name), name)
        return None
    value = as_id(raw)
    if value is None:
        raise RuleViolation(_l("%(name)s must be a whole number from 1 to %(max)s, got «%(raw)s».",
                               name=name, max=INT_MAX, raw=raw[:40]), name)
    return value
