"""The FAB filter that applies the row-level scope to views, APIs and related-field choices, and the
data interface they share."""
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface

from app.security.scope import current_scope, visible_clause
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
    """SQLAInterface whose `get` answers None (so 404) for a pk that no row can have, instead of the
    database's overflow or type error (a 500) on `/api/v1/<entity>/<pk>` and `/<view>/show|edit|delete/<pk>`."""

    def get(self, id, filters=None, select_columns=None, outer_default_load=False):  # noqa: A002 - FAB's name
        pk = as_id(id)
        if pk is None:
            return None
        return super().get(pk, filters, select_columns, outer_default_load)
