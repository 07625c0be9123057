"""GET /api/v1/stats/results and /api/v1/stats/curriculum: the dashboard's figures as JSON, for the
administration of the school (JWT or browser session)."""
from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe

from app.security import permissions as p
from app.security.scope import current_scope
from app.services.errors import RuleViolation
from app.services.fulfilment import attendance, curriculum
from app.services.params import no_unknown_args
from app.services.stats import NotFound, period_info, resolve
from app.services.stats_cache import results
from app.views.stats import int_params


class StatsApi(BaseApi):
    """Statistics of a reporting period, optionally narrowed by class, subject, grade or teacher."""

    resource_name = "stats"
    class_permission_name = p.RESOURCE_STATISTICS
    method_permission_name = {"get_results": p.ACTION_READ, "get_curriculum": p.ACTION_READ}
    base_permissions = [p.CAN_READ]
    allow_browser_login = True

    def _answer(self, build):
        try:
            params = int_params(request.args)
            params.pop("student_id")
            no_unknown_args(request.args, list(params))
            return self.response(200, **build(resolve(current_scope(), **params)))
        except NotFound as err:
            return self.response(404, message=err.message)
        except RuleViolation as err:
            return self.response_400(message=err.message)

    @expose("/results", methods=["GET"])
    @protect()
    @safe
    def get_results(self):
        """Успеваемость, качество, СОУ, average and distribution by school, grade, class, subject, teacher.
        ---
        get:
          parameters:
          - {in: query, name: period_id, required: true, schema: {type: integer}}
          - {in: query, name: class_id, schema: {type: integer}}
          - {in: query, name: subject_id, schema: {type: integer}}
          - {in: query, name: grade, schema: {type: integer}}
          - {in: query, name: teacher_id, schema: {type: integer}}
          responses:
            200: {description: the results}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        return self._answer(results)

    @expose("/curriculum", methods=["GET"])
    @protect()
    @safe
    def get_curriculum(self):
        """Curriculum fulfilment per class × subject (× group) and missed lessons by reason per class.
        ---
        get:
          parameters:
          - {in: query, name: period_id, required: true, schema: {type: integer}}
          - {in: query, name: class_id, schema: {type: integer}}
          - {in: query, name: subject_id, schema: {type: integer}}
          - {in: query, name: grade, schema: {type: integer}}
          - {in: query, name: teacher_id, schema: {type: integer}}
          responses:
            200: {description: the fulfilment}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        return self._answer(lambda f: {"period": period_info(f.period), "filters": f.as_dict(),
                                       "curriculum": curriculum(f), "attendance": attendance(f)})
