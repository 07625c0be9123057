"""Views of classes, groups, streams, individual plans, assignments and the curriculum."""
from flask_appbuilder.actions import action
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.models import (
    ClassUnit,
    CurriculumItem,
    Enrolment,
    IndividualPlan,
    PeriodKind,
    Stream,
    StudyGroup,
    TeachingAssignment,
)
from app.security import permissions as p
from app.services.curriculum import fill_curriculum
from app.views.base import SchoolModelView


class ClassUnitView(SchoolModelView):
    model, resource = ClassUnit, p.RESOURCE_CLASS_UNIT
    list_columns = ["name", "year", "class_teacher", "period_kind"]
    add_columns = edit_columns = show_columns = [
        "school", "year", "grade", "letter", "class_teacher", "period_kind",
    ]
    order_columns = ["year"]
    enum_exclude = {"period_kind": (PeriodKind.year,)}
    base_order = ("grade", "asc")
    method_permission_name = {**SchoolModelView.method_permission_name, "fill_curriculum": p.ACTION_WRITE}

    @action("fill_curriculum", _l("Fill the curriculum"),
            _l("Recompute planned hours from the timetable and the calendar?"), "fa-calendar", single=False)
    def fill_curriculum(self, items):
        """Recompute the planned hours of the chosen classes."""
        classes = self.visible_only(items)
        count = sum(len(fill_curriculum(c)) for c in classes)
        db.session.commit()
        return self.back_with(_l("Curriculum filled: %(n)d rows.", n=count))


class EnrolmentView(SchoolModelView):
    model, resource = Enrolment, p.RESOURCE_ENROLMENT
    list_columns = ["student", "class_unit", "start", "end"]
    add_columns = edit_columns = show_columns = ["school", "student", "class_unit", "start", "end"]
    base_order = ("start", "desc")


class StudyGroupView(SchoolModelView):
    model, resource = StudyGroup, p.RESOURCE_STUDY_GROUP
    list_columns = ["class_unit", "name", "subject"]
    add_columns = edit_columns = show_columns = ["school", "class_unit", "name", "subject", "students"]


class StreamView(SchoolModelView):
    model, resource = Stream, p.RESOURCE_STREAM
    list_columns = ["name", "year"]
    add_columns = edit_columns = show_columns = ["school", "year", "name", "students"]


class IndividualPlanView(SchoolModelView):
    model, resource = IndividualPlan, p.RESOURCE_INDIVIDUAL_PLAN
    list_columns = ["student", "subject", "year"]
    add_columns = edit_columns = show_columns = ["school", "year", "student", "subject", "reason"]


class TeachingAssignmentView(SchoolModelView):
    model, resource = TeachingAssignment, p.RESOURCE_TEACHING_ASSIGNMENT
    list_columns = ["teacher", "subject", "target", "weekly_hours", "year"]
    add_columns = edit_columns = [
        "school", "year", "teacher", "subject", "class_unit", "group", "stream", "plan", "weekly_hours",
    ]
    show_columns = add_columns
    description_columns = {"class_unit": _l("Exactly one of: class, group, stream, individual plan.")}
    search_columns = ["teacher", "subject", "class_unit", "year"]


class CurriculumItemView(SchoolModelView):
    model, resource = CurriculumItem, p.RESOURCE_CURRICULUM
    list_columns = ["class_unit", "subject", "period", "weekly_hours", "planned_hours"]
    add_columns = edit_columns = show_columns = [
        "school", "class_unit", "subject", "period", "weekly_hours", "planned_hours",
    ]
    search_columns = ["class_unit", "subject", "period"]
