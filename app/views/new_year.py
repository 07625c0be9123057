"""The next school year page (administration): what this year's finals still lack, and the button that builds
the next year from this one (app/services/new_year.py), as `flask school new-year` does."""
from flask import current_app, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import PromotionDecision, School
from app.security import permissions as p
from app.security.scope import current_scope
from app.services.audit import acting_as
from app.services.errors import RuleViolation
from app.services.new_year import IncompleteYear, build_next_year, latest_year, next_name
from app.services.promotion import OUTCOME_LABELS, incomplete_finals
from app.views.journal import current_actor

SHOWN = 200  # missing finals listed on the page (the count is always whole)


class NewYearView(BaseView):
    """/newyear/: readiness of this year and the build of the next one."""

    route_base = "/newyear"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_ACADEMIC_YEAR
    method_permission_name = {"index": p.ACTION_WRITE, "build": p.ACTION_WRITE}  # the administration's
    base_permissions = [p.CAN_READ, p.CAN_WRITE]  # shared with AcademicYearView: keep both on sync

    def _school(self) -> School | None:
        scope = current_scope()
        school_id = scope.school_id if not scope.everything else request.values.get("school", type=int)
        if scope.everything and school_id is None:
            return db.session.scalar(select(School).order_by(School.short_name).limit(1))
        return db.session.get(School, school_id) if school_id else None

    @expose("/")
    @has_access
    def index(self):
        """This year, the next one's name, the year finals still missing, the decisions of closed years."""
        school = self._school()
        year = latest_year(school) if school else None
        missing = incomplete_finals(year) if year is not None and not year.closed else []
        decisions = db.session.scalars(select(PromotionDecision).where(
            PromotionDecision.school_id == (school.id if school else 0))
            .order_by(PromotionDecision.year_id.desc(), PromotionDecision.id)).all()
        return self.render_template("year/new_year.html", school=school, year=year, missing=missing[:SHOWN],
                                    missing_count=len(missing), next_name=next_name(year) if year else "",
                                    decisions=decisions, labels=OUTCOME_LABELS,
                                    schools=db.session.scalars(select(School).order_by(School.short_name)).all()
                                    if current_scope().everything else [])

    @expose("/build", methods=["POST"])
    @has_access
    def build(self):
        """Build the year typed (normally the one offered), or show why not."""
        school = self._school()
        if school is None:
            flash(str(_l("Choose the school.")), "danger")
            return redirect(url_for("NewYearView.index"))
        user = current_app.appbuilder.sm.current_user
        try:
            with acting_as(user.username, user.id):
                result = build_next_year(school, request.form.get("year", ""), current_actor())
            db.session.commit()
        except (IncompleteYear, RuleViolation) as err:
            db.session.rollback()
            flash(" ".join((str(err.message), str(_l("Nothing changed.")))), "danger")
            return redirect(url_for("NewYearView.index", school=school.id))
        flash(result.message(), "success" if result.created else "info")
        return redirect(url_for("NewYearView.index", school=school.id))
