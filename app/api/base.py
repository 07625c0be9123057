"""The base of every entity REST API: same permissions, scope and guard as the views."""
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import inspect

from app.security.filters import SCOPE_FILTERS
from app.security.guard import check_delete, guarded
from app.security.permissions import API_METHOD_ACTIONS
from app.services.errors import RuleViolation
from app.views.labels import LABELS


class SchoolModelApi(ModelRestApi):
    """ModelRestApi with the row-level scope; rule violations answer 422 with the message."""

    method_permission_name = API_METHOD_ACTIONS
    base_filters = SCOPE_FILTERS
    allow_browser_login = True
    after_guard = None

    def pre_add(self, item):
        """Guard the row as the views do."""
        guarded(item, then=self.after_guard)

    def pre_update(self, item):
        """Guard the row as the views do."""
        guarded(item, then=self.after_guard)

    def post_headless(self):
        """Create; a broken rule is a 422 with its message, nothing saved."""
        try:
            return super().post_headless()
        except RuleViolation as err:
            return self.response_422(message=err.message)

    def put_headless(self, pk):
        """Update; a broken rule is a 422 with its message, nothing saved."""
        try:
            return super().put_headless(pk)
        except RuleViolation as err:
            return self.response_422(message=err.message)

    def pre_delete(self, item):
        """Only the deployment admin deletes a school."""
        check_delete(item)

    def delete_headless(self, pk):
        """Delete; a refused deletion is a 422 with its message, nothing removed."""
        try:
            return super().delete_headless(pk)
        except RuleViolation as err:
            return self.response_422(message=err.message)


def make_api(model, resource: str, name: str, columns: list[str], after_guard=None) -> type:
    """Build the API class of one entity: relation columns are read as `rel.id` and written as ids."""
    mapper = inspect(model)
    relations = {r.key for r in mapper.relationships}
    shown = ["id"] + [f"{c}.id" if c in relations else c for c in columns]
    attrs = {
        "datamodel": SQLAInterface(model),
        "resource_name": name,
        "class_permission_name": resource,
        "list_columns": shown,
        "show_columns": shown,
        "add_columns": columns,
        "edit_columns": columns,
        "label_columns": {k: v for k, v in LABELS.items() if k in columns},
        # `_info` lists the choices of related fields: only rows the user may see.
        "add_query_rel_fields": {c: SCOPE_FILTERS for c in columns if c in relations},
        "edit_query_rel_fields": {c: SCOPE_FILTERS for c in columns if c in relations},
        "after_guard": staticmethod(after_guard) if after_guard else None,
        "__doc__": f"REST API of {model.__name__}.",
    }
    return type(f"{model.__name__}Api", (SchoolModelApi,), attrs)
