"""Forecast pages: a teacher's journal (students of one class, group or stream in one subject), a
class teacher's class (students × subjects) and the administration's «at risk» list."""
from flask import request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from sqlalchemy import select

from app.extensions import db
from app.models import AcademicYear, ClassUnit
from app.security import permissions as p
from app.security.scope import current_scope, visible_clause
from app.services import clock
from app.services.calendar import year_holds
from app.services.errors import RuleViolation
from app.services.forecast import (
    RISK_LABELS,
    NotFound,
    Query,
    at_risk,
    class_matrix,
    forecast,
    journals,
    target_query,
)


def _current_classes() -> list[ClassUnit]:
    """The classes of the current year the user may see."""
    today = clock.today()
    query = select(ClassUnit).join(AcademicYear, AcademicYear.id == ClassUnit.year_id).where(
        year_holds(today)).order_by(ClassUnit.grade, ClassUnit.letter)
    clause = visible_clause(ClassUnit, current_scope())
    return db.session.scalars(query if clause is None else query.where(clause)).all()


class ForecastView(BaseView):
    """Прогноз итоговой успеваемости."""

    route_base = "/forecast"
    default_view = "index"
    class_permission_name = resource = p.RESOURCE_FORECAST
    method_permission_name = {"index": p.ACTION_READ, "class_page": p.ACTION_READ, "risk": p.ACTION_READ}
    base_permissions = [p.CAN_READ]  # shared with ForecastApi

    def _page(self, template: str, **context):
        return self.render_template(f"forecast/{template}", risk_labels=RISK_LABELS, **context)

    @expose("/")
    @has_access
    def index(self):
        """The user's journals; the chosen one (default: the first) shows its students' forecast."""
        scope, own = current_scope(), journals(current_scope())
        wanted = (request.args.get("target"), request.args.get("id", type=int), request.args.get("subject", type=int))
        chosen = next((j for j in own if (j["target_key"], j["target_id"], j["subject_id"]) == wanted),
                      None if request.args.get("target") else (own[0] if own else None))
        rows, error = [], None
        if chosen is not None:
            try:
                rows = forecast(scope, target_query(scope, chosen["target_key"], chosen["target_id"],
                                                    chosen["subject_id"]))
            except (RuleViolation, NotFound):
                error = True
        elif request.args.get("target"):
            error = True
        return self._page("teacher.html", journals=own, chosen=chosen, rows=rows, error=error)

    @expose("/class")
    @has_access
    def class_page(self):
        """A class: students × subjects with the projected finals and flags."""
        classes = _current_classes()
        scope = current_scope()
        homeroom = [c for c in classes if c.id in scope.homeroom_ids]
        wanted = request.args.get("class_id", type=int)
        chosen = next((c for c in classes if c.id == wanted), (homeroom or classes or [None])[0])
        rows = forecast(scope, Query(class_ids=(chosen.id,))) if chosen else []
        students, subjects, cells = class_matrix(rows)
        return self._page("class.html", classes=classes, chosen=chosen, rows=rows, students=students,
                          subjects=subjects, cells=cells)

    @expose("/risk")
    @has_access
    def risk(self):
        """Students at risk in the school, filtered by grade or class, the most serious first."""
        classes = _current_classes()
        grade, class_id = request.args.get("grade", type=int), request.args.get("class_id", type=int)
        ids = tuple(c.id for c in classes if (grade is None or c.grade == grade)
                    and (class_id is None or c.id == class_id))
        rows = at_risk(forecast(current_scope(), Query(class_ids=ids))) if ids else []
        return self._page("risk.html", classes=classes, grades=sorted({c.grade for c in classes}), grade=grade,
                          class_id=class_id, rows=rows)
