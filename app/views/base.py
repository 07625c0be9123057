"""The base of every data view: permissions by resource, row-level scope, guarded writes."""
from flask import flash, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import lazy_gettext as _l

from app.security.filters import SCOPE_FILTERS
from app.security.guard import guarded
from app.security.permissions import VIEW_METHOD_ACTIONS
from app.security.scope import current_scope, is_visible
from app.views.labels import LABELS


class SchoolModelView(ModelView):
    """A ModelView whose rows, related choices and writes all follow the user's scope.

    Subclasses set `model` and `resource`; permissions are `can_read`/`can_write` on the resource.
    """

    model = None
    resource = None
    method_permission_name = VIEW_METHOD_ACTIONS
    base_filters = SCOPE_FILTERS
    page_size = 50

    def __init__(self, **kwargs):
        self.datamodel = SQLAInterface(self.model)
        self.class_permission_name = self.resource
        self.label_columns = {**LABELS, **(self.label_columns or {})}
        self._scope_related_choices()
        super().__init__(**kwargs)

    def _scope_related_choices(self) -> None:
        """Offer in add/edit forms only the related rows the user may see."""
        for cols, attr in ((self.add_columns or self.edit_columns, "add_form_query_rel_fields"),
                           (self.edit_columns or self.add_columns, "edit_form_query_rel_fields")):
            rel = dict(getattr(self, attr) or {})
            for col in cols or []:
                if self.datamodel.is_relation(col):
                    rel.setdefault(col, SCOPE_FILTERS)
            setattr(self, attr, rel)

    def pre_add(self, item):
        """Refuse rows outside the user's school, links to hidden rows and rule violations."""
        guarded(item)

    def pre_update(self, item):
        """The same guard as for adding."""
        guarded(item)

    def visible_only(self, items):
        """Actions receive rows by id without base filters: keep only the visible ones."""
        scope = current_scope()
        items = items if isinstance(items, list) else [items]
        return [i for i in items if i is not None and is_visible(i, scope)]

    def back_with(self, message, category: str = "success"):
        """Flash a message and return to the list."""
        flash(str(message), category)
        return redirect(self.get_redirect())


NOT_AVAILABLE = _l("The record is not available to you.")
