"""Final grades pages: the finals sheet of a journal (propose, confirm or override, defer), the
class summary sheet, closing a period and a student's academic record. Rules live in services."""

from flask import abort, flash, redirect, request, url_for
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import ClassUnit, ReportingPeriod, Student
from app.security import permissions as p
from app.security.scope import current_scope, is_visible, visible_clause
from app.services import clock
from app.services.errors import RuleViolation
from app.services.finals import close_period, defer_final, missing_finals, propose_finals
from app.services.finals_sheet import assignments_of, open_sheet, save_finals
from app.services.journal import Conflict
from app.services.params import date_arg, id_arg
from app.services.periods import history as period_history
from app.services.periods import reopen_period
from app.services.promotion import OUTCOME_LABELS
from app.services.summary import academic_record, summary_sheet, visible_record, visible_summary
from app.views.base import int_arg
from app.views.downloads import PDF, attachment
from app.views.journal import current_actor, journals_of

CONFLICT = _l("Someone has changed the final of %(student)s meanwhile; the page shows the current values. "
              "Nothing was saved.")


def _version(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def visible_classes(scope) -> list[ClassUnit]:
    """Classes whose summary sheet the user may open."""
    query = select(ClassUnit).order_by(ClassUnit.grade, ClassUnit.letter)
    clause = visible_clause(ClassUnit, scope)
    classes = db.session.scalars(query if clause is None else query.where(clause)).all()
    return [c for c in classes if visible_summary(scope, c)]


class FinalsView(BaseView):
    """Итоговые отметки: the sheet of a journal and period, and the class summary sheet."""

    route_base = "/finals"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_FINAL_GRADE
    method_permission_name = {"index": p.ACTION_READ, "sheet": p.ACTION_READ, "summary": p.ACTION_READ,
                              "summary_pdf": p.ACTION_READ, "save": p.ACTION_WRITE, "propose": p.ACTION_WRITE,
                              "defer": p.ACTION_WRITE}

    @expose("/")
    @has_access
    def index(self):
        """The user's journals and the classes whose summary sheet they may read."""
        scope = current_scope()
        return self.render_template("finals/index.html", journals=journals_of(scope), classes=visible_classes(scope),
                                    administration=current_actor().administration)

    @expose("/sheet")
    @has_access
    def sheet(self):
        """The finals sheet of one journal and period."""
        try:
            data = open_sheet(current_actor(), request.args.get("target", "class_id"), int_arg("id"),
                              int_arg("subject"), id_arg(request.args, "period"), clock.today())
        except RuleViolation as err:
            return self.render_template("finals/error.html", message=err.message), 404
        return self.render_template("finals/sheet.html", sheet=data, administration=current_actor().administration)

    def _back(self, form):
        return redirect(url_for("FinalsView.sheet", target=form.get("target", "class_id"), id=form.get("id"),
                                subject=form.get("subject"), period=form.get("period")))

    def _commit(self, work, form, success):
        """Run a write; commit and flash success, or roll back and flash the refusal."""
        try:
            result = work()
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            flash(_named(err, err.message), "danger")
            return self._back(form)
        except Conflict as err:
            db.session.rollback()
            flash(str(CONFLICT % {"student": _name_of(getattr(err, "student_id", None))}), "warning")
            return self._back(form)
        flash(str(success(result)), "success")
        return self._back(form)

    @expose("/save", methods=["POST"])
    @has_access
    def save(self):
        """Confirm or override the chosen finals of the sheet, all or nothing."""
        form = request.form

        def work():
            period_id, subject_id = int_arg("period", form), int_arg("subject", form)
            assignments_of(current_scope(), form.get("target", "class_id"), int_arg("id", form), subject_id)
            entries = [(int(key[6:]), form[key], _version(form.get(f"version_{key[6:]}")))
                       for key in form if key.startswith("value_") and key[6:].isdigit()]
            reasons = {student: form.get(f"reason_{student}", "") for student, _value, _version in entries}
            return save_finals(current_actor(), subject_id, period_id, entries, reasons)

        return self._commit(work, form, lambda n: _l("Finals saved: %(count)d.", count=n))

    @expose("/propose", methods=["POST"])
    @has_access
    def propose(self):
        """Write the proposals from the marks (decided finals are kept)."""
        form = request.form

        def work():
            _target, assignments = assignments_of(current_scope(), form.get("target", "class_id"), int_arg("id", form),
                                                  int_arg("subject", form))
            period = db.session.get(ReportingPeriod, int_arg("period", form))
            if period is None or period.school_id != assignments[0].school_id:
                raise RuleViolation(_l("Choose a reporting period of the journal's scheme or the year."))
            return propose_finals(current_actor(), assignments[0], period)

        return self._commit(work, form, lambda n: _l("Proposals written: %(count)d.", count=n))

    @expose("/defer", methods=["POST"])
    @has_access
    def defer(self):
        """The administration defers one student's final with a reason and a deadline."""
        form = request.form

        def work():
            subject_id = int_arg("subject", form)
            assignments_of(current_scope(), form.get("target", "class_id"), int_arg("id", form), subject_id)
            return defer_final(current_actor(), int_arg("student", form), subject_id, int_arg("period", form),
                               form.get("reason", ""), date_arg(form.get("deadline"), "deadline"),
                               _version(form.get("version")))

        return self._commit(work, form, lambda _cell: _l("The final is deferred."))

    @expose("/summary")
    @has_access
    def summary(self):
        """The class summary sheet: finals per period and year with the metrics underneath."""
        try:
            cls = db.session.get(ClassUnit, int_arg("class_id"))
        except RuleViolation as err:
            return self.render_template("finals/error.html", message=err.message), 400
        if not visible_summary(current_scope(), cls):
            return self.render_template("finals/error.html",
                                        message=_l("The class is not found or is not available to you.")), 404
        return self.render_template("finals/summary.html", data=summary_sheet(cls))

    @expose("/summary.pdf")
    @has_access
    def summary_pdf(self):
        """The class summary sheet as a landscape PDF (same visibility as the page)."""
        from app.services.extracts import summary_pdf

        try:
            cls, data = summary_pdf(current_scope(), int_arg("class_id"))
        except RuleViolation as err:
            return self.render_template("finals/error.html", message=err.message), 404
        name = _l("Summary sheet %(class_name)s %(year)s", class_name=cls.name, year=cls.year.name)
        return attachment(data, f"{name}.pdf", PDF)


def _named(err, message) -> str:
    student_id = getattr(err, "student_id", None)
    return f"{_name_of(student_id)}: {message}" if student_id else str(message)


def _name_of(student_id) -> str:
    student = db.session.get(Student, student_id) if student_id else None
    return student.short_name if student is not None and is_visible(student, current_scope()) else "—"


class PeriodCloseView(BaseView):
    """Closing a reporting period (administration): refused while finals are missing."""

    route_base = "/finals/close"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_REPORTING_PERIOD
    method_permission_name = {"index": p.ACTION_WRITE, "close": p.ACTION_WRITE,  # the administration's
                              "reopen": p.ACTION_WRITE}
    base_permissions = [p.CAN_READ, p.CAN_WRITE]  # shared with ReportingPeriodView: keep both on sync

    @expose("/")
    @has_access
    def index(self):
        """The school's periods, open or closed, with their missing finals."""
        scope = current_scope()
        query = select(ReportingPeriod).order_by(ReportingPeriod.start, ReportingPeriod.kind)
        clause = visible_clause(ReportingPeriod, scope)
        periods = db.session.scalars(query if clause is None else query.where(clause)).all()
        chosen = request.args.get("period", type=int)
        missing = []
        if chosen:
            period = next((x for x in periods if x.id == chosen), None)
            missing = missing_finals(period) if period is not None and not period.closed else []
        return self.render_template("finals/close.html", periods=periods, chosen=chosen, missing=missing,
                                    history=period_history([x.id for x in periods]))

    @expose("/<id:period_id>", methods=["POST"])
    @has_access
    def close(self, period_id: int):
        """Close the period, or show why not."""
        try:
            period = close_period(current_actor(), period_id)
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            flash(err.message, "danger")
            return redirect(url_for("PeriodCloseView.index", period=period_id))
        flash(str(_l("The period «%(period)s» is closed: its marks and finals are frozen.", period=period.title)),
              "success")
        return redirect(url_for("PeriodCloseView.index"))

    @expose("/<id:period_id>/reopen", methods=["POST"])
    @has_access
    def reopen(self, period_id: int):
        """Reopen a closed period with the reason typed, or show why not."""
        try:
            period = reopen_period(current_actor(), period_id, request.form.get("reason", ""))
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            flash(err.message, "danger")
            return redirect(url_for("PeriodCloseView.index", period=period_id))
        flash(str(_l("The period «%(period)s» is reopened: its rows may be changed until it is closed again.",
                     period=period.title)), "success")
        return redirect(url_for("PeriodCloseView.index"))


class AcademicRecordView(BaseView):
    """Индивидуальный учёт результатов: a student's finals and exam results of every year."""

    route_base = "/finals/record"
    default_view = "show"
    resource = class_permission_name = p.RESOURCE_ACADEMIC_RECORD
    method_permission_name = {"show": p.ACTION_READ}
    base_permissions = [p.CAN_READ]

    @expose("/<id:student_id>")
    @has_access
    def show(self, student_id: int):
        """The record page (404 for a student outside the user's classes or school)."""
        student = db.session.get(Student, student_id)
        if not visible_record(current_scope(), student):
            abort(404)
        return self.render_template("finals/record.html", student=student, levels=academic_record(student),
                                    outcome_labels=OUTCOME_LABELS)
