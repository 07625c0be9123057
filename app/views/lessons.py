"""Views of the timetable, lessons, lesson changes, control works and recommendations, and the
class pages families' information is made of (a week's changes, the control-work schedule)."""
import datetime as dt

from flask import abort, flash, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.actions import action
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import (
    ClassUnit,
    ControlWorkPlan,
    Lesson,
    LessonChange,
    Recommendation,
    ReportingPeriod,
    TimetableEntry,
)
from app.security import permissions as p
from app.security.filters import OWN_WRITE_FILTERS
from app.security.guard import guarded
from app.security.scope import current_scope, is_visible
from app.services import clock
from app.services.errors import RuleViolation
from app.services.lessons import (
    apply_change,
    changes_of_class,
    check_lesson_write,
    control_works_of_class,
    generate_lessons,
    overloaded_days,
)
from app.services.params import id_arg
from app.services.timetable_clashes import WEEKDAYS
from app.views.base import SchoolModelView


class TimetableEntryView(SchoolModelView):
    model, resource = TimetableEntry, p.RESOURCE_TIMETABLE
    list_columns = ["assignment", "weekday", "bell_slot", "room", "valid_from", "valid_to"]
    add_columns = edit_columns = show_columns = [
        "assignment", "weekday", "bell_slot", "room", "valid_from", "valid_to",
    ]
    formatters_columns = {**SchoolModelView.formatters_columns,  # noqa: RUF012
                          "weekday": lambda d: WEEKDAYS[d] if d is not None and 0 <= d < 6 else d}
    description_columns = {"weekday": _l("0 — Monday … 5 — Saturday")}
    base_order = ("weekday", "asc")
    method_permission_name = {**SchoolModelView.method_permission_name, "make_lessons": p.ACTION_WRITE}

    @action("make_lessons", _l("Create lessons"), _l("Create the lessons of the chosen entries' school from "
                                                    "today to the end of the year?"), "fa-calendar-plus-o")
    def make_lessons(self, items):
        """Generate lessons of the school from today to the end of the entries' year."""
        entries = self.visible_only(items)
        if not entries:
            return self.back_with(_l("Nothing chosen."), "warning")
        year = entries[0].assignment.year
        try:
            count = generate_lessons(entries[0].school, max(clock.today(), year.start), year.end)
            db.session.commit()
        except RuleViolation as err:  # e.g. a day of a closed period
            db.session.rollback()
            return self.back_with(err.message, "danger")
        return self.back_with(_l("Lessons created: %(n)d.", n=count))


class LessonView(SchoolModelView):
    model, resource = Lesson, p.RESOURCE_LESSON
    list_columns = ["date", "bell_slot", "assignment", "teacher", "topic", "lesson_type", "status"]
    add_columns = ["assignment", "date", "bell_slot", "teacher", "room", "topic", "lesson_type", "homework",
                   "homework_due"]
    edit_columns = ["topic", "lesson_type", "status", "homework", "homework_due", "room"]
    show_columns = add_columns + ["status"]
    search_columns = ["date", "assignment", "teacher", "lesson_type", "status"]
    base_order = ("date", "desc")
    add_form_query_rel_fields = {"assignment": OWN_WRITE_FILTERS, "teacher": OWN_WRITE_FILTERS}  # noqa: RUF012

    def pre_add(self, item):
        """Teachers add and change only their own lessons; cancelling is a lesson change."""
        guarded(item, then=lesson_guard)

    pre_update = pre_add

    def pre_delete(self, item):
        """Teachers delete only their own lessons, and none with marks or attendance."""
        lesson_guard(item, deleting=True)


def lesson_guard(lesson, deleting: bool = False) -> None:
    """The lesson rules for the signed-in user (see check_lesson_write)."""
    from flask import current_app

    from app.services.journal import actor_of

    check_lesson_write(actor_of(current_app.appbuilder.sm.current_user), lesson, deleting)


class LessonChangeView(SchoolModelView):
    """Changes are recorded, never edited: a mistake is corrected by another change."""

    model, resource = LessonChange, p.RESOURCE_LESSON_CHANGE
    list_columns = ["old_date", "lesson", "kind", "new_teacher", "new_date", "reason", "changed_by"]
    add_columns = ["lesson", "kind", "new_teacher", "new_date", "new_slot", "reason"]
    show_columns = ["lesson", "kind", "old_teacher", "new_teacher", "old_date", "new_date", "new_slot", "reason",
                    "changed_by", "changed_at"]
    base_permissions = ["can_read", "can_write"]
    include_route_methods = {"list", "show", "add", "api_read", "download"}
    description_columns = {"new_teacher": _l("For a substitution"), "new_date": _l("For a rescheduling")}
    base_order = ("old_date", "desc")

    def pre_add(self, item):
        """Apply the change to its lesson (rules in the lesson service)."""
        from flask import current_app

        guarded(item, then=lambda c: apply_change(c, current_app.appbuilder.sm.current_user.username))

    def _add(self):
        """`?lesson=<id>` (the weekly timetable's «Замена или перенос»): the form opens with that lesson
        chosen, so nobody looks for it among the year's lessons; 404 for a lesson the user does not see."""
        if request.method == "POST" or "lesson" not in request.args:
            return super()._add()
        lesson = db.session.get(Lesson, id_arg(request.args, "lesson", required=True))
        if lesson is None or not is_visible(lesson, current_scope()):
            abort(404)
        form = self.add_form.refresh()
        form.lesson.data = lesson
        return self._get_add_widget(form=form)


class ControlWorkPlanView(SchoolModelView):
    model, resource = ControlWorkPlan, p.RESOURCE_CONTROL_WORK
    list_columns = ["date", "assignment", "kind", "topic"]
    add_columns = edit_columns = show_columns = ["assignment", "date", "kind", "topic"]
    base_order = ("date", "asc")
    add_form_query_rel_fields = edit_form_query_rel_fields = {"assignment": OWN_WRITE_FILTERS}  # noqa: RUF012

    def post_add(self, item):
        """Warn when the class gets more than two control works that day."""
        cls = item.assignment.class_unit or (item.assignment.group.class_unit if item.assignment.group else None)
        if cls and overloaded_days(control_works_of_class(cls.id, item.date, item.date)):
            flash(str(_l("Warning: class %(cls)s has more than two control works on %(day)s.", cls=cls,
                         day=f"{item.date:%d.%m.%Y}")), "warning")

    post_update = post_add


class RecommendationView(SchoolModelView):
    model, resource = Recommendation, p.RESOURCE_RECOMMENDATION
    list_columns = ["date", "student", "subject", "teacher", "text"]
    add_columns = edit_columns = ["student", "subject", "text", "date"]
    show_columns = ["date", "student", "subject", "teacher", "text"]
    search_columns = ["student", "subject", "teacher", "date"]
    base_order = ("date", "desc")
    # the author is the signed-in staff member: the guard's authorship rules set and check it
    add_form_query_rel_fields = edit_form_query_rel_fields = {"subject": OWN_WRITE_FILTERS}  # noqa: RUF012


class ClassPagesView(BaseView):
    """A class's week of lesson changes and its control-work schedule."""

    route_base = "/class"
    class_permission_name = p.RESOURCE_CONTROL_WORK
    method_permission_name = {"changes": p.ACTION_READ, "control_works": p.ACTION_READ}
    base_permissions = [p.CAN_READ, p.CAN_WRITE]  # shared with ControlWorkPlanView: keep both on sync

    def _class(self, class_id: int) -> ClassUnit:
        cls = db.session.get(ClassUnit, class_id)
        if cls is None or not is_visible(cls, current_scope()):
            from flask import abort

            abort(404)
        return cls

    @expose("/<id:class_id>/changes")
    @has_access
    def changes(self, class_id: int):
        """Substitutions, reschedulings and cancellations of the class in a week (?week=YYYY-MM-DD)."""
        cls = self._class(class_id)
        try:
            day = dt.date.fromisoformat(request.args.get("week", "")) if request.args.get("week") else clock.today()
        except ValueError:
            day = clock.today()
        monday = day - dt.timedelta(days=day.weekday())
        sunday = monday + dt.timedelta(days=6)
        return self.render_template("class/changes.html", cls=cls, monday=monday, sunday=sunday,
                                    changes=changes_of_class(cls.id, monday, sunday), timedelta=dt.timedelta)

    @expose("/<id:class_id>/control-works")
    @has_access
    def control_works(self, class_id: int):
        """The control-work schedule of the class in a period (?period=id, default: the whole year)."""
        cls = self._class(class_id)
        periods = db.session.scalars(select(ReportingPeriod).where(
            ReportingPeriod.year_id == cls.year_id, ReportingPeriod.kind == cls.period_kind)
            .order_by(ReportingPeriod.start)).all()
        period = next((x for x in periods if x.id == request.args.get("period", type=int)), None)
        start, end = (period.start, period.end) if period else (cls.year.start, cls.year.end)
        works = control_works_of_class(cls.id, start, end)
        return self.render_template("class/control_works.html", cls=cls, works=works, periods=periods,
                                    period=period, overloaded=set(overloaded_days(works)))
