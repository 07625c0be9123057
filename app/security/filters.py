"""The FAB filter that applies the row-level scope to views, APIs and related-field choices, and the
data interface they share."""
import contextlib
import re
from decimal import Decimal, InvalidOperation

from flask_appbuilder.models.filters import BaseFilter, FilterRelation
from flask_appbuilder.models.sqla.filters import FilterEqualFunction, FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Integer, Numeric, String

from app.security.scope import current_scope, visible_clause, writable_clause
from app.services.errors import RuleViolation
from app.services.params import as_id
from app.services.stored_values import problem

BAD_FILTER = _l("A filter's value does not suit its column: text for text filters, numbers within the column's "
                "range for number filters.")
_NUMBER = re.compile(r"[-+]?[0-9]{1,40}(\.[0-9]{1,40})?")


class ScopeFilter(BaseFilter):
    """Rows of the current user's school and, for teachers, of their own classes."""

    name = "Visible to the current user"
    arg_name = "scope"

    def apply(self, query, value):
        """Narrow the query by the scope of the request's user."""
        clause = visible_clause(self.model, current_scope())
        return query if clause is None else query.filter(clause)


SCOPE_FILTERS = [["id", ScopeFilter, lambda: None]]


def _as_typed(kind, value):
    """A list filter's value (text from a page's query string, JSON from the API's rison) as the column's
    Python type, for `problem` to judge; a blank value is FAB's «no value» (None)."""
    if isinstance(kind, (Integer, Numeric)) and isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        if not _NUMBER.fullmatch(value):
            return object()  # no number: refused below
        try:
            return int(value) if isinstance(kind, Integer) else Decimal(value)
        except (ValueError, InvalidOperation):
            return object()
    return value


def suits_filter(datamodel, column_name: str, value) -> bool:
    """Whether a list filter's value can be compared with its column in the database: text without NUL
    for text columns, a number the column can hold for number columns, "y" (or a JSON boolean) for yes/no
    columns — PostgreSQL refuses to compare a boolean with text (others FAB converts itself)."""
    column = datamodel.list_columns.get(column_name)
    kind = getattr(column, "type", None)
    if isinstance(kind, Boolean):  # FAB turns "y" into True and passes anything else on as text
        return value == "y" or isinstance(value, bool)
    if not isinstance(kind, (String, Integer, Numeric)):
        return True
    if isinstance(kind, String) and isinstance(value, str):  # an Enum is a String
        return "\x00" not in value  # the length does not matter to a comparison
    return problem(kind, _as_typed(kind, value)) is None


def check_filters(datamodel, filters) -> None:
    """Refuse (RuleViolation) the first filter whose value does not suit its column; the scope's own
    filters (rows in scope, rows the user writes) and relation filters (an id no row can have matches
    nothing) are left alone."""
    for flt, values in filters.get_filters_values() if filters else ():
        if isinstance(flt, (ScopeFilter, OwnWriteFilter, FilterRelation, FilterEqualFunction, FilterInFunction)):
            continue
        for value in values if isinstance(values, list) else [values]:
            if not suits_filter(datamodel, flt.column_name, value):
                raise RuleViolation(BAD_FILTER, flt.column_name)


class CheckedInterface(SQLAInterface):
    """SQLAInterface whose list filters are checked against their columns first (`check_filters`)."""

    def apply_filters(self, query, filters):
        """FAB's filters, once their values are known to suit their columns: a number beyond the column
        (an overflow), text with NUL, a word for a number column were the database's errors, a 500, on
        every list page and API (and PostgreSQL's on a few more)."""
        check_filters(self, filters)
        return super().apply_filters(query, filters)


def check_fab_views(appbuilder) -> None:
    """FAB's own screens (users, roles, permissions) check their list filters too: their data interface
    becomes a CheckedInterface (same state, one more check)."""
    for view in appbuilder.baseviews:
        datamodel = getattr(view, "datamodel", None)
        if type(datamodel) is SQLAInterface:
            datamodel.__class__ = CheckedInterface


class ScopedInterface(CheckedInterface):
    """SQLAInterface for which an id no row can have names no row: `get` answers None (so a 404 on
    `/api/v1/<entity>/<pk>` and `/<view>/show|edit|delete/<pk>`) and a relation filter matches nothing,
    instead of the database's overflow or type error (a 500)."""

    def get(self, id, filters=None, select_columns=None, outer_default_load=False):  # noqa: A002 - FAB's name
        pk = as_id(id)
        if pk is None:
            return None
        return super().get(pk, filters, select_columns, outer_default_load)

    def get_related_obj(self, col_name, value):
        pk = as_id(value)
        return None if pk is None else super().get_related_obj(col_name, pk)

    def add(self, item, commit: bool = True) -> None:
        with _undone_if_refused(self.session):
            super().add(item, commit)

    def edit(self, item, commit: bool = True) -> None:
        with _undone_if_refused(self.session):
            super().edit(item, commit)

    def delete(self, item, commit: bool = True) -> None:
        with _undone_if_refused(self.session):
            super().delete(item, commit)

    def delete_all(self, items) -> None:
        with _undone_if_refused(self.session):
            super().delete_all(items)


@contextlib.contextmanager
def _undone_if_refused(session):
    """A rule the session enforces at flush (a closed period, append-only consents) leaves nothing
    half-saved: FAB rolls back database errors only."""
    try:
        yield
    except RuleViolation:
        session.rollback()
        raise


class OwnWriteFilter(BaseFilter):
    """Rows the current user may write or link a write to: for teachers only their own (see
    scope.writable_clause); the choices of add/edit forms and of the API's `_info`."""

    name = "Writable by the current user"
    arg_name = "own"

    def apply(self, query, value):
        """Narrow the query to the rows the request's user writes."""
        clause = writable_clause(self.model, current_scope())
        return query if clause is None else query.filter(clause)


OWN_WRITE_FILTERS = [["id", OwnWriteFilter, lambda: None]]
