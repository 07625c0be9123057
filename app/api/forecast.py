"""`GET /api/v1/forecast/`: the forecast of a class, group, stream or plan, per student × subject."""
from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import gettext as _

from app.security import permissions as p
from app.security.scope import current_scope
from app.services import clock
from app.services.errors import RuleViolation
from app.services.forecast import TARGET_COLUMNS, NotFound, forecast, target_query
from app.services.params import id_arg


class ForecastApi(BaseApi):
    """GET /api/v1/forecast/?class_id=…|group_id=…|stream_id=…|plan_id=…[&subject_id=…][&period_id=…]"""

    resource_name = "forecast"
    class_permission_name = p.RESOURCE_FORECAST
    method_permission_name = {"get": p.ACTION_READ}
    base_permissions = [p.CAN_READ]  # shared with ForecastView
    allow_browser_login = True

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get(self):
        """The forecast: average so far, projected final, distance to the next grade, marks, risk flags.
        ---
        get:
          parameters:
          - {in: query, name: class_id, schema: {type: integer}}
          - {in: query, name: group_id, schema: {type: integer}}
          - {in: query, name: stream_id, schema: {type: integer}}
          - {in: query, name: plan_id, schema: {type: integer}}
          - {in: query, name: subject_id, schema: {type: integer}}
          - {in: query, name: period_id, schema: {type: integer}, description: default the current period}
          responses:
            200: {description: "rows: student × subject"}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        keys = [k for k in TARGET_COLUMNS if k in request.args]
        try:
            if len(keys) != 1:
                raise RuleViolation(_("Give exactly one of class_id, group_id, stream_id, plan_id."))
            query = target_query(current_scope(), keys[0], id_arg(request.args, keys[0], required=True),
                                 id_arg(request.args, "subject_id"), id_arg(request.args, "period_id"))
        except RuleViolation as err:
            return self.response_400(message=str(err.message))
        except NotFound:
            return self.response_404()
        today = clock.today()
        rows = forecast(current_scope(), query, today=today)
        return self.response(200, as_of=today.isoformat(), count=len(rows), rows=[r.as_dict() for r in rows])
