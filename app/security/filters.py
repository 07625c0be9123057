"""The FAB filter that applies the row-level scope to views, APIs and related-field choices."""
from flask_appbuilder.models.filters import BaseFilter

from app.security.scope import current_scope, visible_clause


class ScopeFilter(BaseFilter):
    """Rows of the current user's school and, for teachers, of their own classes."""

    name = "Visible to the current user"
    arg_name = "scope"

    def apply(self, query, value):
        """Narrow the query by the scope of the request's user."""
        clause = visible_clause(self.model, current_scope())
        return query if clause is None else query.filter(clause)


SCOPE_FILTERS = [["id", ScopeFilter, lambda: None]]
