"""The whole menu in one place: every view with its menu entry and the resource it reads."""
from flask import current_app
from flask_babel import lazy_gettext as _l

from app.security.filters import check_fab_views
from app.security.user_views import readable_user_pages
from app.views.base import (
    answer_rule_violations,
    pin_form_columns,
    refuse_bad_list_arguments,
    refuse_impossible_ids,
    refuse_unknown_actions,
)
from app.views.consent import (
    AuditEventView,
    AuditExportView,
    ConsentPagesView,
    ConsentView,
    ContactPointView,
    DeliveryPreferenceView,
)
from app.views.control import ControlView
from app.views.exchange import ExchangeView, OutboxMessageView
from app.views.extracts import ExtractLogView, ExtractsView, ExtractVerifyView
from app.views.finals import AcademicRecordView, FinalsView, PeriodCloseView
from app.views.forecast import ForecastView
from app.views.journal import JournalView
from app.views.labels import TABLE_LABELS
from app.views.lessons import (
    ClassPagesView,
    ControlWorkPlanView,
    LessonChangeView,
    LessonView,
    RecommendationView,
    TimetableEntryView,
)
from app.views.locale import register_locale
from app.views.navbar import install as install_navbar
from app.views.new_year import NewYearView
from app.views.people import GuardianView, StaffView, StudentGuardianView, StudentView
from app.views.results import ExamResultView, FinalGradeView, NotificationView
from app.views.roster import RosterView
from app.views.school import (
    AcademicYearView,
    AssessmentRuleView,
    BellSlotView,
    HolidayView,
    ReportingPeriodView,
    SchoolView,
    SubjectView,
    WorkTypeView,
)
from app.views.stats import StatsView
from app.views.teaching import (
    ClassUnitView,
    CurriculumItemView,
    EnrolmentView,
    IndividualPlanView,
    StreamView,
    StudyGroupView,
    TeachingAssignmentView,
)
from app.views.timetable import TimetableWeekView

CATEGORIES = {
    "Families": (_l("Families"), "fa-handshake-o"),
    "Journal": (_l("Journal"), "fa-book"),
    "Classes": (_l("Classes"), "fa-users"),
    "People": (_l("People"), "fa-user"),
    "School": (_l("School"), "fa-university"),
    "Results": (_l("Results"), "fa-graduation-cap"),
    "Control": (_l("Control"), "fa-eye"),  # «Контроль ведения журнала» in full: too wide for the navbar
}

# (view, menu name, label, category, icon); the menu name is the stable permission name.
MENU = [
    (JournalView, "Journals", _l("Journals"), "Journal", "fa-table"),
    (LessonView, "Lessons", _l("Lessons"), "Journal", "fa-list"),
    (LessonChangeView, "Lesson changes", _l("Lesson changes"), "Journal", "fa-exchange"),
    (ControlWorkPlanView, "Control works", _l("Control works"), "Journal", "fa-pencil-square-o"),
    (TimetableEntryView, "Timetable", _l("Timetable"), "Journal", "fa-clock-o"),
    (RecommendationView, "Recommendations", _l("Recommendations"), "Journal", "fa-comment"),
    (ClassUnitView, "Classes list", _l("Classes"), "Classes", "fa-users"),
    (StudyGroupView, "Study groups", _l("Study groups"), "Classes", "fa-object-group"),
    (StreamView, "Streams", _l("Streams"), "Classes", "fa-random"),
    (IndividualPlanView, "Individual plans", _l("Individual plans"), "Classes", "fa-user-circle"),
    (TeachingAssignmentView, "Teaching assignments", _l("Teaching assignments"), "Classes", "fa-book"),
    (CurriculumItemView, "Curriculum", _l("Curriculum"), "Classes", "fa-list-alt"),
    (ConsentView, "Consents", _l("Consents"), "Families", "fa-check-square-o"),
    (ContactPointView, "Contacts", _l("Contacts"), "Families", "fa-address-book"),
    (DeliveryPreferenceView, "Delivery", _l("Delivery"), "Families", "fa-paper-plane"),
    (AuditEventView, "Audit trail", _l("Audit trail"), "Families", "fa-shield"),
    (NotificationView, "Notifications", _l("Messages to families"), "Families", "fa-envelope"),
    (ExchangeView, "Portal exchange", _l("Portal exchange"), "Families", "fa-cloud-upload"),
    (OutboxMessageView, "Outbox", _l("Outbox"), "Families", "fa-inbox"),
    (StudentView, "Students", _l("Students"), "People", "fa-child"),
    (EnrolmentView, "Enrolments", _l("Enrolments"), "People", "fa-exchange"),
    (GuardianView, "Legal representatives", _l("Legal representatives"), "People", "fa-female"),
    (StudentGuardianView, "Representation", _l("Representation"), "People", "fa-link"),
    (StaffView, "Staff", _l("Staff"), "People", "fa-id-badge"),
    (SchoolView, "Schools", _l("Schools"), "School", "fa-university"),
    (AcademicYearView, "Academic years", _l("Academic years"), "School", "fa-calendar"),
    (ReportingPeriodView, "Reporting periods", _l("Reporting periods"), "School", "fa-calendar-o"),
    (HolidayView, "Holidays", _l("Holidays"), "School", "fa-sun-o"),
    (BellSlotView, "Bell schedule", _l("Bell schedule"), "School", "fa-bell"),
    (SubjectView, "Subjects", _l("Subjects"), "School", "fa-book"),
    (WorkTypeView, "Work types", _l("Work types"), "School", "fa-balance-scale"),
    (AssessmentRuleView, "Assessment rules", _l("Unmarked and pass/fail learning"), "School", "fa-ban"),
    (FinalsView, "Finals", _l("Finals and summary sheets"), "Results", "fa-check-circle"),
    (FinalGradeView, "Final grades", _l("Final grades"), "Results", "fa-list-ol"),
    (ExamResultView, "Exam results", _l("Exam and competition results"), "Results", "fa-trophy"),
    (ForecastView, "Forecast", _l("Forecast"), "Results", "fa-line-chart"),
    (StatsView, "Statistics", _l("Statistics"), "Results", "fa-bar-chart"),
    (ExtractsView, "Extracts", _l("Paper extracts"), "Results", "fa-print"),
    (ExtractLogView, "Print log", _l("Print log of extracts"), "Results", "fa-list-alt"),
]


# Menu links to pages of views without menu entries: (name, href, label, category, icon, resource).
LINKS = [
    ("Consent standing", "/consent/status", _l("Consent standing"), "Families", "fa-list", "Consent"),
    ("Paper recipients", "/consent/paper", _l("Paper recipients"), "Families", "fa-print", "Consent"),
    ("Roster import", "/roster/", _l("Roster import"), "Families", "fa-upload", "RosterImport"),
    ("Class forecast", "/forecast/class", _l("Class forecast"), "Results", "fa-th", "Forecast"),
    ("At risk", "/forecast/risk", _l("At risk"), "Results", "fa-exclamation-triangle", "Forecast"),
    ("Verify an extract", "/extracts/verify/", _l("Verify an extract"), "Results", "fa-check", "ExtractLog"),
    ("Accumulation of marks", "/control/accumulation/", _l("Accumulation of marks"), "Control", "fa-signal",
     "JournalControl"),
    ("Timeliness of filling", "/control/timeliness/", _l("Timeliness of filling the journal"), "Control",
     "fa-hourglass-half", "JournalControl"),
    ("Finals unlike the proposal", "/control/finals/", _l("Finals that differ from the proposal"), "Control",
     "fa-random", "JournalControl"),
    ("Attendance control", "/control/attendance/", _l("Attendance"), "Control", "fa-user-times", "JournalControl"),
    ("Weekly timetable", "/timetable/", _l("Weekly timetable"), "Journal", "fa-calendar", "TimetableEntry"),
]


def menu_resources() -> list[tuple[str, str, str]]:
    """(menu name, category, resource) of every entry, for the role sync."""
    return [(name, category, view.resource) for view, name, _label, category, _icon in MENU] + [
        (name, category, resource) for name, _href, _label, category, _icon, resource in LINKS]


def register_views(appbuilder) -> None:
    """Add every view to the menu."""
    TABLE_LABELS.update({view.model.__tablename__: label for view, _name, label, *_ in MENU
                         if getattr(view, "model", None) is not None})
    for view, name, label, category, icon in MENU:
        cat_label, cat_icon = CATEGORIES[category]
        view.list_title = label
        appbuilder.add_view(view, name, label=label, icon=icon, category=category,
                            category_label=cat_label, category_icon=cat_icon)
    appbuilder.add_view_no_menu(ClassPagesView)
    appbuilder.add_view_no_menu(TimetableWeekView)
    appbuilder.add_view_no_menu(AuditExportView)
    for name, href, label, category, icon, _resource in LINKS:
        appbuilder.add_link(name, href=href, label=label, icon=icon, category=category,
                            category_label=CATEGORIES[category][0])
    appbuilder.add_view_no_menu(ConsentPagesView)
    appbuilder.add_view_no_menu(RosterView)
    appbuilder.add_view_no_menu(PeriodCloseView)
    appbuilder.add_view_no_menu(AcademicRecordView)
    appbuilder.add_view_no_menu(NewYearView)
    appbuilder.add_view_no_menu(ExtractVerifyView)
    appbuilder.add_view_no_menu(ControlView)
    refuse_unknown_actions()
    refuse_impossible_ids()
    refuse_bad_list_arguments()
    check_fab_views(appbuilder)
    answer_rule_violations()
    register_locale(current_app._get_current_object())
    install_navbar(current_app._get_current_object())
    readable_user_pages(appbuilder.sm.user_view)
    pin_form_columns(appbuilder)
