"""«CSV» on a list page: the rows the list shows (its search filters and order, the user's scope and
permissions, every page of it) with the list's Russian column names and values as the page reads them."""
from flask_appbuilder import expose
from flask_appbuilder.security.decorators import has_access
from flask_appbuilder.urltools import get_filter_args, get_order_args
from markupsafe import Markup

from app.security.permissions import ACTION_READ, VIEW_METHOD_ACTIONS
from app.views.csv_export import csv_response
from app.views.display import shown


def plain(value) -> str:
    """A cell as text: markup loses its tags (a formatter's <code>, a table of fields)."""
    value = shown(value)
    return Markup(value).striptags() if isinstance(value, Markup) else str(value)


class ListCsvMixin:
    """Put it before SchoolModelView: adds `/<view>/csv` (read permission) and the button on the list.

    `csv_columns` defaults to the list's columns; `csv_formatters` replace the page's formatters for the
    file (e.g. before/after of the audit trail as text)."""

    list_template = "list_with_csv.html"
    method_permission_name = {**VIEW_METHOD_ACTIONS, "csv": ACTION_READ}
    csv_columns: list | None = None
    csv_formatters: dict = {}

    def __init__(self, **kwargs):
        if self.include_route_methods is not None:  # a read-only view lists its routes: add the file's
            self.include_route_methods = set(self.include_route_methods) | {"csv"}
        super().__init__(**kwargs)

    @expose("/csv")
    @has_access
    def csv(self):
        """The list's rows, filtered and ordered as the list is, as a CSV file."""
        columns = self.csv_columns or self.list_columns
        order_column, order_direction = get_order_args().get(self.__class__.__name__) or self.base_order or ("", "")
        get_filter_args(self._filters)
        joined = self._filters.get_joined_filters(self._base_filters)
        _count, items = self.datamodel.query(joined, order_column, order_direction)
        _held = self.csv_preload(items)  # kept alive while the rows are written
        header = [str(self.label_columns.get(col, col)) for col in columns]
        rows = []
        for item in items:
            values = self.datamodel.get_values_item(item, columns)
            rows.append([self._csv_cell(item, col, value) for col, value in zip(columns, values, strict=True)])
        return csv_response(header, rows, f"{self.list_title}.csv")

    def csv_preload(self, items) -> list:
        """Rows the file's cells will read, loaded at once (none by default)."""
        return []

    def _csv_cell(self, item, col: str, value) -> str:
        if col in self.csv_formatters:
            return plain(self.csv_formatters[col](item))
        formatter = self.formatters_columns.get(col)
        return plain(formatter(value) if formatter else value)
