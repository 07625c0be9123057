"""The home page of each role with the day's work: a teacher's lessons today, a class teacher's absences
and students at risk, the administration's absences, unfilled journals and the exchange's health."""
from flask import current_app
from flask_appbuilder import IndexView, expose
from sqlalchemy import select

from app.extensions import db
from app.models import ClassUnit, School
from app.security.roles import ADMINISTERS, capabilities
from app.security.scope import Scope, current_scope, visible_clause
from app.services import clock
from app.services.day_work import (
    GAP_LABELS,
    absences,
    absences_by_class,
    teacher_lessons,
    unfilled_journals,
)
from app.services.forecast import RISK_LABELS, Query, at_risk, forecast
from app.views.exchange import dashboard


def _administers() -> bool:
    """Whether the user's roles run the school (`roles.ROLE_CAPABILITIES`)."""
    user = current_app.appbuilder.sm.current_user
    return ADMINISTERS in capabilities(getattr(user, "roles", None) or [])


def day_work(scope: Scope) -> dict:
    """What the user's roles have to see today (empty parts are left out by the template)."""
    today, work = clock.today(), {}
    if scope.staff_id and not scope.reads_school:
        work["lessons"] = teacher_lessons(scope.staff_id, today)
    if scope.homeroom_ids:
        work["homeroom_absences"] = absences(today, scope.school_id, set(scope.homeroom_ids))
        work["risk"] = at_risk(forecast(scope, Query(class_ids=tuple(sorted(scope.homeroom_ids))), today))
    if scope.school_id and scope.reads_school and _administers():
        school_absences = absences(today, scope.school_id)
        work["school_absences"], work["absent_by_class"] = school_absences, absences_by_class(school_absences)
        work["unfilled"] = unfilled_journals(scope.school_id, today)
    return work


class HomeView(IndexView):
    """Greets the user with their school, the day's work and the classes they may open."""

    index_template = "home.html"

    @expose("/")
    def index(self):
        """Home page; anonymous visitors see the login invitation."""
        scope = current_scope()
        school = db.session.get(School, scope.school_id) if scope.school_id else None
        classes, work = [], {}
        if scope.user_id:
            query = select(ClassUnit).order_by(ClassUnit.grade, ClassUnit.letter)
            clause = visible_clause(ClassUnit, scope)
            if clause is not None:
                query = query.where(clause)
            classes = db.session.scalars(query.limit(60)).all()
            work = day_work(scope)
        exchange = dashboard(scope) if scope.user_id else None
        return self.render_template(self.index_template, school=school, classes=classes, scope=scope,
                                    exchange=exchange, work=work, today=clock.today(), gap_labels=GAP_LABELS,
                                    risk_labels=RISK_LABELS)
