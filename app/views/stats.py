"""The statistics dashboard of the administration (/stats/): results, curriculum fulfilment and
attendance of a period, school → grade → class → student, with CSV of every table."""

from flask import request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l

from app.security import permissions as p
from app.security.scope import current_scope
from app.services import clock
from app.services.errors import RuleViolation
from app.services.params import id_arg
from app.services.stats import NotFound, default_period, periods_of, resolve
from app.services.stats_tables import CODES, TYPES, VALUES, choices, dashboard, table
from app.views.csv_export import csv_response
from app.views.labels import enum_label

PARAMS = ("period_id", "class_id", "subject_id", "grade", "teacher_id", "student_id")


def int_params(args) -> dict:
    """The integer parameters of a request (ids as `id_arg` reads them); a clear RuleViolation otherwise."""
    out = {}
    for name in PARAMS:
        if name.endswith("_id"):
            out[name] = id_arg(args, name)
            continue
        raw = args.get(name, "").strip()
        if not raw:
            out[name] = None
            continue
        try:
            out[name] = int(raw)
        except ValueError:
            raise RuleViolation(_l("The parameter %(name)s must be a whole number.", name=name), name) from None
    return out


# The dashboard's tables as their headings name them (the CSV file is named after them).
TABLE_TITLES = {"grades": _l("By grade"), "classes": _l("By class"), "subjects": _l("By subject"),
                "teachers": _l("By teacher"), "students": _l("Students"), "curriculum": _l("Curriculum fulfilment"),
                "attendance": _l("Attendance"), "finals": _l("Final grades")}


class StatsView(BaseView):
    """Статистика: успеваемость, качество, СОУ, выполнение учебного плана, пропуски."""

    route_base = "/stats"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_STATISTICS
    method_permission_name = {"index": p.ACTION_READ, "export": p.ACTION_READ}
    base_permissions = [p.CAN_READ]

    def _filters(self):
        scope = current_scope()
        params = int_params(request.args)
        periods = periods_of(scope)
        if params["period_id"] is None:
            chosen = default_period(periods, clock.today())
            params["period_id"] = chosen.id if chosen else 0
        student_id = params.pop("student_id")
        return resolve(scope, **params), student_id, periods

    def _error(self, err: RuleViolation):
        status = 404 if isinstance(err, NotFound) else 400
        return self.render_template("stats/error.html", message=err.message), status

    @expose("/")
    @has_access
    def index(self):
        """One level of the dashboard for the chosen period."""
        try:
            f, student_id, periods = self._filters()
            data = dashboard(f, student_id)
        except RuleViolation as err:
            return self._error(err)
        also = [period.title for period in periods if period.id in {pid for _, pid in f.other_schemes}]
        return self.render_template("stats/index.html", f=f, data=data, periods=periods, choices=choices(f),
                                    also=also,
                                    values=VALUES,
                                    codes=CODES, types=TYPES, student_id=student_id,
                                    enum_label=enum_label)

    @expose("/export.csv")
    @has_access
    def export(self):
        """?table=grades|classes|subjects|teachers|students|curriculum|attendance|finals and the filters."""
        try:
            f, student_id, _periods = self._filters()
            header, rows = table(request.args.get("table", ""), f, student_id)
        except RuleViolation as err:
            return self._error(err)
        except KeyError:
            return self._error(RuleViolation(_l("Unknown table.")))
        table_name = request.args["table"]
        name = _l("Statistics - %(table)s - %(period)s", table=TABLE_TITLES.get(table_name, table_name),
                  period=f.period.title)
        return csv_response(header, rows, f"{name}.csv")
