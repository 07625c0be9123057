"""How a stored value reads on a page, in one place for every list and record: dates as дд.мм.гггг,
moments in the school's time zone, Да/Нет, enum values by their names, nothing for an empty value,
and an audited row's before/after as labelled fields with related rows by name."""
import datetime as dt
import enum
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import Boolean, Date, DateTime, select
from sqlalchemy import Enum as SAEnum
from sqlalchemy import inspect as sa_inspect

from app.extensions import db
from app.views.labels import LABELS, enum_label

DAY = "%d.%m.%Y"
AUDIT_ACTIONS = {"create": _l("created"), "update": _l("changed"), "delete": _l("deleted")}


def school_zone() -> ZoneInfo:
    """The school's time zone (BABEL_DEFAULT_TIMEZONE; the journal stores moments in naive UTC)."""
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "UTC")


def school_time(moment: dt.datetime) -> dt.datetime:
    """A stored moment (naive UTC) on the school's clock."""
    aware = moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment
    return aware.astimezone(school_zone())


def shown(value):
    """The value as a page shows it (anything not listed here as is)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, enum.Enum):
        return enum_label(value)
    if isinstance(value, dt.datetime):
        return school_time(value).strftime(DAY + " %H:%M")
    if isinstance(value, dt.date):
        return value.strftime(DAY)
    return value


def machine_text(value):
    """A hash, a key or a payload: shown as code, as it is (it is compared, not read)."""
    return Markup("<code>{}</code>").format(value) if value else ""


def formatted(formatter=None, enum_class=None):
    """A column formatter: the stored value back to its enum member (for an enum column), the view's own
    formatter (if any), then `shown`."""
    def member(value):
        try:
            return enum_class(value) if enum_class is not None and value is not None else value
        except ValueError:
            return value

    own = formatter or (lambda value: value)
    return lambda value: shown(own(member(value)))


def _model_of(table: str):
    return next((m.class_ for m in db.Model.registry.mappers if getattr(m.class_, "__tablename__", None) == table),
                None)


def _referenced(column):
    """The model a foreign-key column points to (None for any other column)."""
    return _model_of(next(iter(column.foreign_keys)).column.table.name) if column.foreign_keys else None


def preload_references(rows) -> list:
    """Load every row that audited values `(entity, values)` refer to, one query per table and a thousand
    ids, and return them: while the caller holds them, reading the values (`row_fields_text`) finds each
    in the session instead of asking the database once per referenced row."""
    wanted: dict = {}
    for entity, values in rows:
        model = _model_of(entity)
        for name, value in (values or {}).items() if model is not None else ():
            column = model.__table__.columns.get(name)
            target = _referenced(column) if column is not None and value is not None else None
            if target is not None:
                wanted.setdefault(target, set()).add(value)
    loaded = []
    for target, ids in wanted.items():
        key, ids = sa_inspect(target).primary_key[0], sorted(ids)
        for start in range(0, len(ids), 1000):
            loaded += db.session.scalars(select(target).where(key.in_(ids[start:start + 1000]))).all()
    return loaded


def _view_labels(model) -> dict:
    """The column labels of the page that lists the model (its own wording, e.g. a contact's «Контакт»)."""
    view = next((v for v in current_app.appbuilder.baseviews
                 if model is not None and getattr(v, "model", None) is model and getattr(v, "label_columns", None)),
                None)
    return view.label_columns if view is not None else LABELS


def _field_value(column, value):
    """A value of an audited row as stored in JSON, read back through its column's type."""
    if value is None or column is None:
        return shown(value)
    if column.foreign_keys:
        target = _referenced(column)
        row = db.session.get(target, value) if target is not None else None
        return str(row) if row is not None else f"№ {value}"
    kind = column.type
    if isinstance(kind, SAEnum) and kind.enum_class is not None:
        try:
            return enum_label(kind.enum_class(value))
        except ValueError:
            return value
    if isinstance(kind, (Date, DateTime)) and isinstance(value, str):
        moment = dt.datetime.fromisoformat(value)
        return shown(moment if isinstance(kind, DateTime) else moment.date())
    if isinstance(kind, Boolean):
        return shown(bool(value))
    return shown(value)


def _fields(entity: str, values: dict | None) -> list[tuple]:
    """(label, readable value) of each field of an audited row (its id and school left out)."""
    model = _model_of(entity)
    columns = model.__table__.columns if model is not None else {}
    labels = _view_labels(model)
    return [(labels.get(key.removesuffix("_id"), labels.get(key, key)),
             _field_value(columns.get(key) if model is not None else None, value))
            for key, value in (values or {}).items() if key not in ("id", "school_id")]


def row_fields_text(entity: str, values: dict | None) -> str:
    """An audited row's values as one line of text («Поле: значение; …»), for files."""
    return "; ".join(f"{label}: {value}" for label, value in _fields(entity, values))


def row_fields(entity: str, values: dict | None):
    """An audited row's values as a small table: the field's label, the value readably."""
    rows = [Markup("<tr><th>{}</th><td>{}</td></tr>").format(label, value) for label, value in _fields(entity, values)]
    if not rows:
        return ""
    return Markup('<table class="table table-condensed audit-fields">{}</table>').format(
        Markup("").join(rows))
