"""Views of the school, its calendar and reference lists."""
from flask_babel import lazy_gettext as _l

from app.models import AcademicYear, AssessmentRule, BellSlot, Holiday, ReportingPeriod, School, Subject, WorkType
from app.security import permissions as p
from app.views.base import SchoolModelView, enum_label


class SchoolView(SchoolModelView):
    model, resource = School, p.RESOURCE_SCHOOL
    list_columns = ["short_name", "director", "address"]
    add_columns = edit_columns = ["full_name", "short_name", "address", "director", "study_days_per_week"]
    show_columns = add_columns


class AcademicYearView(SchoolModelView):
    model, resource = AcademicYear, p.RESOURCE_ACADEMIC_YEAR
    list_columns = ["name", "start", "end", "school"]
    add_columns = edit_columns = show_columns = ["school", "name", "start", "end"]
    base_order = ("start", "desc")


class ReportingPeriodView(SchoolModelView):
    model, resource = ReportingPeriod, p.RESOURCE_REPORTING_PERIOD
    list_columns = ["year", "kind", "number", "start", "end", "closed"]
    add_columns = edit_columns = ["school", "year", "kind", "number", "start", "end"]
    show_columns = add_columns + ["closed"]  # closed only by «Close a period», which checks the finals
    base_order = ("start", "asc")


class HolidayView(SchoolModelView):
    model, resource = Holiday, p.RESOURCE_HOLIDAY
    list_columns = ["name", "start", "end", "grade", "year"]
    add_columns = edit_columns = show_columns = ["school", "year", "name", "start", "end", "grade"]
    description_columns = {"grade": _l("Empty: for the whole school")}
    base_order = ("start", "asc")


class BellSlotView(SchoolModelView):
    model, resource = BellSlot, p.RESOURCE_BELL_SLOT
    list_columns = ["number", "start_time", "end_time"]
    add_columns = edit_columns = show_columns = ["school", "number", "start_time", "end_time"]
    search_columns = ["number"]
    description_columns = {"start_time": _l("HH:MM, e.g. 08:30")}
    base_order = ("number", "asc")


class SubjectView(SchoolModelView):
    model, resource = Subject, p.RESOURCE_SUBJECT
    list_columns = ["name", "short_name", "pass_fail"]
    add_columns = edit_columns = show_columns = ["school", "name", "short_name", "pass_fail"]
    base_order = ("name", "asc")


class WorkTypeView(SchoolModelView):
    model, resource = WorkType, p.RESOURCE_WORK_TYPE
    list_columns = ["name", "weight"]
    add_columns = edit_columns = show_columns = ["school", "name", "weight"]
    base_order = ("weight", "asc")


class AssessmentRuleView(SchoolModelView):
    """Безотметочное и зачётное обучение: a grade (and a subject, or all of the grade's) learns
    without 1–5 marks; the journal, finals, forecast and statistics follow it."""

    model, resource = AssessmentRule, p.RESOURCE_ASSESSMENT_RULE
    list_columns = ["grade", "subject", "mode"]
    add_columns = edit_columns = show_columns = ["school", "grade", "subject", "mode"]
    description_columns = {"subject": _l("Empty: every subject of the grade"),  # noqa: RUF012
                           "mode": _l("Unmarked: no marks and no finals; pass/fail: no marks, finals зач/незач")}
    formatters_columns = {"mode": enum_label}  # noqa: RUF012
    base_order = ("grade", "asc")
