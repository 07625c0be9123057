"""The FAB filter that applies the row-level scope to views, APIs and related-field choices, and the
data interface they share."""
import contextlib

from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.security.scope import current_scope, visible_clause, writable_clause
from app.services.errors import RuleViolation
from app.services.params import as_id


class ScopeFilter(BaseFilter):
    """Rows of the current user's school and, for teachers, of their own classes."""

    name = "Visible to the current user"
    arg_name = "scope"

    def apply(self, query, value):
        """Narrow the query by the scope of the request's user."""
        clause = visible_clause(self.model, current_scope())
        return query if clause is None else query.filter(clause)


SCOPE_FILTERS = [["id", ScopeFilter, lambda: None]]


class ScopedInterface(SQLAInterface):
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
