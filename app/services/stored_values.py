"""What a column can hold, checked for every row the session is about to write, whichever path wrote it
(page, form, REST API, JSON endpoint, CLI, job).

Neither database checks this for us in the same way: SQLite stores a million characters in a
String(300) column, NUL in text, a dict as a string; PostgreSQL refuses them with a raw error (a 500)
or, for a number beyond `integer`, an overflow. A value that does not suit its column is a
RuleViolation naming the field, raised before anything is sent, so the caller's transaction holds
nothing of the request.
"""
import datetime as dt
import math
from decimal import Decimal
from functools import cache

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    SmallInteger,
    String,
    event,
    inspect,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import ClauseElement

from app.services.errors import RuleViolation
from app.services.params import INT_MAX

INTEGER_MAX = {SmallInteger: 2**15 - 1, BigInteger: 2**63 - 1, Integer: INT_MAX}  # PostgreSQL's types


def field_label(key: str) -> str:
    """The name of a field as the forms show it."""
    from app.views.labels import LABELS  # the one table of field names (the views import the services)

    return str(LABELS.get(key) or LABELS.get(key.removesuffix("_id"), key))  # bell_slot_id: «Номер урока»


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        return False
    return value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)


def _enum_problem(kind: Enum, value):
    try:
        if value in kind._valid_lookup:  # what SQLAlchemy itself can write and read back
            return None
    except TypeError:  # unhashable (a list, a dict)
        pass
    return lambda field: _l("%(field)s must be one of: %(values)s.", field=field, values=", ".join(kind.enums))


def _text_problem(kind: String, value, lengths: bool = True):
    if not isinstance(value, str):
        return lambda field: _l("%(field)s must be text.", field=field)
    if "\x00" in value:
        return lambda field: _l("%(field)s must not contain NUL characters.", field=field)
    if lengths and kind.length and len(value) > kind.length:
        return lambda field: _l("%(field)s must be at most %(max)s characters long (%(got)s given).",
                                field=field, max=kind.length, got=len(value))
    return None


def _integer_problem(kind: Integer, value):
    top = next(top for base, top in INTEGER_MAX.items() if isinstance(kind, base))
    if _whole(value) and -top - 1 <= value <= top:
        return None
    return lambda field: _l("%(field)s must be a whole number from %(min)s to %(max)s.", field=field,
                            min=-top - 1, max=top)


def _numeric_problem(kind: Numeric, value):
    if not _number(value):
        return lambda field: _l("%(field)s must be a number.", field=field)
    if not isinstance(kind, Float) and kind.precision:
        bound = 10 ** (kind.precision - (kind.scale or 0))
        if not -bound < value < bound:
            return lambda field: _l("%(field)s must be between %(low)s and %(high)s.", field=field, low=-bound,
                                    high=bound)
    return None


def problem(kind, value, lengths: bool = True):
    """Why `value` does not suit a column of type `kind`: a function of the field's name giving the message;
    None when it suits."""
    if value is None or isinstance(value, ClauseElement):
        return None
    if isinstance(kind, Enum):
        return _enum_problem(kind, value)
    if isinstance(kind, String):
        return _text_problem(kind, value, lengths)
    if isinstance(kind, Boolean):
        suits = isinstance(value, bool) or (_whole(value) and value in (0, 1))
        return None if suits else lambda field: _l("%(field)s must be yes or no.", field=field)
    if isinstance(kind, Integer):
        return _integer_problem(kind, value)
    if isinstance(kind, Numeric):
        return _numeric_problem(kind, value)
    if isinstance(kind, DateTime):
        return None if isinstance(value, dt.datetime) else lambda field: _l("%(field)s must be a date and time.",
                                                                               field=field)
    if isinstance(kind, Date):
        return None if isinstance(value, dt.date) else lambda field: _l("%(field)s must be a date.", field=field)
    return None  # JSON and the rest: what the code builds, not what people type


@cache
def _columns(cls) -> tuple[tuple[str, object], ...]:
    return tuple((prop.key, prop.columns[0].type) for prop in inspect(cls).column_attrs
                 if len(prop.columns) == 1 and hasattr(prop.columns[0], "type"))


def check_row(obj, changed_only: bool = False, lengths: bool = True) -> None:
    """Raise RuleViolation for the first column value of `obj` that its column cannot hold (of the
    changed ones only, for a row already stored; the length of text only if `lengths`)."""
    state = inspect(obj)
    for key, kind in _columns(type(obj)):
        if key not in state.dict:
            continue
        if changed_only and not state.attrs[key].history.added:
            continue
        message = problem(kind, state.dict[key], lengths)
        if message is not None:
            raise RuleViolation(message(field_label(key)), key)


@event.listens_for(Session, "before_flush", insert=True)
def _check_before_flush(session: Session, _context, _instances) -> None:
    """Every new and changed row, before the other listeners (audit, outbox) read it."""
    for obj in session.new:
        check_row(obj)
    for obj in session.dirty:
        check_row(obj, changed_only=True)
