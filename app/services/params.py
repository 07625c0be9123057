"""Ids from URLs, query strings, forms and JSON bodies: one rule for every API and page.

An id is a whole number from 1 to the largest PostgreSQL `integer`; anything else names no row and
is refused with a clear message before it reaches the database (where a huge number is an overflow
error, a 500, and on PostgreSQL so is any non-number).
"""
import datetime as dt
import re

from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter

from app.services.errors import RuleViolation

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # PostgreSQL `integer` (SQLite takes 64 bits, PostgreSQL 32)
_DIGITS = re.compile(r"[0-9]{1,10}")


def as_id(value) -> int | None:
    """The id in `value`, digits (from a URL or a form) or an integer (from JSON), if a row can have it;
    else None."""
    if isinstance(value, str):
        value = value.strip()
        value = int(value) if _DIGITS.fullmatch(value) else None
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if 1 <= value <= INT_MAX else None


def json_id(value) -> int | None:
    """The id in a JSON body, where it is a number (a string is not an id there)."""
    return None if isinstance(value, str) else as_id(value)


def id_error(name: str, raw) -> RuleViolation:
    """The refusal of `raw` as the id `name`."""
    return RuleViolation(_l("%(name)s must be a whole number from 1 to %(max)s, got «%(raw)s».",
                            name=name, max=INT_MAX, raw=str(raw)[:40]), name)


def id_arg(args, name: str, required: bool = False) -> int | None:
    """The id given as `name` in a query string, a form or a JSON body (None when absent or blank,
    unless required)."""
    raw = args.get(name)
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if required:
            raise RuleViolation(_l("%(name)s is required.", name=name), name)
        return None
    value = as_id(raw)
    if value is None:
        raise id_error(name, raw)
    return value


NOT_AN_OBJECT = _l("The request body must be a JSON object.")


def json_object(body) -> dict:
    """A JSON request body that must be an object (a list, a number or no JSON at all is refused)."""
    if not isinstance(body, dict):
        raise RuleViolation(NOT_AN_OBJECT)
    return body


def text_or_none(value, name: str) -> str | None:
    """A field that holds text: a string, or None when not given; a number, list or object is refused."""
    if value is None or isinstance(value, str):
        return value
    from app.services.stored_values import field_label

    raise RuleViolation(_l("%(field)s must be text.", field=field_label(name)), name)


def body_id(body: dict, name: str) -> int:
    """The id of a row named in a JSON body: a whole number an id column can hold (a string is not one)."""
    value = json_id(body.get(name))
    if value is None:
        raise id_error(name, body.get(name))
    return value


def date_arg(value, field: str | None = None, named: bool = False) -> dt.date | None:
    """A date written YYYY-MM-DD (typed into a page, or a JSON value: then `named`, the message names the
    key); None when empty; a clear error otherwise."""
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        message = _l("%(name)s must be a date written YYYY-MM-DD.", name=field) if named \
            else _l("Enter the date as YYYY-MM-DD.")
        raise RuleViolation(message, field) from None


def body_date(body: dict, name: str) -> dt.date | None:
    """A date written YYYY-MM-DD in a JSON body; None when not given."""
    return date_arg(body.get(name), name, named=True)


def body_version(body: dict) -> int | None:
    """The version the client read (the optimistic check), when given: a whole number."""
    value = body.get("version")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise RuleViolation(_l("version must be the whole number of the version you read."), "version")
    return value


def no_unknown_args(args, known: list[str]) -> None:
    """Refuse parameters an endpoint does not take, naming those it does."""
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise RuleViolation(_l("Unknown parameter(s): %(unknown)s; expected %(known)s.",
                               unknown=", ".join(unknown), known=", ".join(known)))


class IdConverter(IntegerConverter):
    """`<id:name>` in a route: an id as `as_id` reads it; anything else matches no route (a 404)."""

    def __init__(self, url_map):
        super().__init__(url_map, min=1, max=INT_MAX)
