"""REST APIs (JWT from POST /api/v1/security/login), one per entity, all scoped."""
import prison
from flask import current_app, jsonify, request

from app.api.base import make_api
from app.models import (
    AcademicYear,
    AssessmentRule,
    BellSlot,
    ClassUnit,
    Consent,
    ContactPoint,
    CurriculumItem,
    DeliveryPreference,
    Enrolment,
    Guardian,
    Holiday,
    IndividualPlan,
    ReportingPeriod,
    School,
    Staff,
    Stream,
    Student,
    StudentGuardian,
    StudyGroup,
    Subject,
    TeachingAssignment,
    WorkType,
)
from app.security import permissions as p
from app.services.students import sync_enrolment

PERSON = ["surname", "name", "patronymic"]

API_SPECS = [
    (School, p.RESOURCE_SCHOOL, "school", ["full_name", "short_name", "address", "director", "study_days_per_week"]),
    (AcademicYear, p.RESOURCE_ACADEMIC_YEAR, "academicyear", ["school", "name", "start", "end"]),
    (ReportingPeriod, p.RESOURCE_REPORTING_PERIOD, "reportingperiod",
     ["school", "year", "kind", "number", "start", "end", "closed"]),
    (Holiday, p.RESOURCE_HOLIDAY, "holiday", ["school", "year", "name", "start", "end", "grade"]),
    (BellSlot, p.RESOURCE_BELL_SLOT, "bellslot", ["school", "number", "start_time", "end_time"]),
    (Subject, p.RESOURCE_SUBJECT, "subject", ["school", "name", "short_name", "pass_fail"]),
    (WorkType, p.RESOURCE_WORK_TYPE, "worktype", ["school", "name", "weight"]),
    (Staff, p.RESOURCE_STAFF, "staff", ["school", *PERSON, "position"]),
    (ClassUnit, p.RESOURCE_CLASS_UNIT, "classunit",
     ["school", "year", "grade", "letter", "class_teacher", "period_kind"]),
    (Enrolment, p.RESOURCE_ENROLMENT, "enrolment", ["school", "student", "class_unit", "start", "end"]),
    (StudyGroup, p.RESOURCE_STUDY_GROUP, "studygroup", ["school", "class_unit", "name", "subject"]),
    (Stream, p.RESOURCE_STREAM, "stream", ["school", "year", "name"]),
    (IndividualPlan, p.RESOURCE_INDIVIDUAL_PLAN, "individualplan",
     ["school", "year", "student", "subject", "reason"]),
    (Student, p.RESOURCE_STUDENT, "student",
     ["school", *PERSON, "birth_date", "file_number", "class_unit", "enrolled_on", "left_on"], sync_enrolment),
    (Guardian, p.RESOURCE_GUARDIAN, "guardian", ["school", *PERSON, "birth_date", "identity_document"]),
    (StudentGuardian, p.RESOURCE_STUDENT_GUARDIAN, "studentguardian",
     ["school", "student", "guardian", "relation", "authority_basis"]),
    (TeachingAssignment, p.RESOURCE_TEACHING_ASSIGNMENT, "teachingassignment",
     ["school", "year", "teacher", "subject", "class_unit", "group", "stream", "plan", "weekly_hours"]),
    (CurriculumItem, p.RESOURCE_CURRICULUM, "curriculumitem",
     ["school", "class_unit", "subject", "period", "weekly_hours", "planned_hours"]),
    (AssessmentRule, p.RESOURCE_ASSESSMENT_RULE, "assessmentrule", ["school", "grade", "subject", "mode"]),
]

APIS = [make_api(*spec) for spec in API_SPECS]
PeriodApi = next(api for api in APIS if api.resource_name == "reportingperiod")
PeriodApi.add_columns = PeriodApi.edit_columns = [c for c in PeriodApi.add_columns if c != "closed"]  # see finals


def _record(consent) -> None:
    from app.services.consent import record_decision

    record_decision(consent, current_app.appbuilder.sm.current_user.username)


ConsentApi = make_api(Consent, p.RESOURCE_CONSENT, "consent", [
    "student", "guardian", "decision", "decided_on", "document_kind", "document_number", "document_date",
    "electronic_document_id", "authority_basis", "operator", "purpose", "data_list", "actions", "term",
    "withdrawal_procedure"], _record)
ConsentApi.include_route_methods = {"get", "get_list", "info", "post"}  # append-only: no put, no delete
ConsentApi.show_columns = ConsentApi.list_columns = ConsentApi.list_columns + ["recorded_by", "recorded_at"]
APIS += [
    ConsentApi,
    make_api(ContactPoint, p.RESOURCE_CONTACT, "contactpoint",
             ["guardian", "kind", "value", "provenance", "document_reference", "active"]),
    make_api(DeliveryPreference, p.RESOURCE_DELIVERY, "deliverypreference", ["student", "channel", "contact"]),
]


def _invalid_token(reason: str):
    """A malformed, forged or wrong-kind JWT is a 401 like a missing or expired one (Flask-JWT-Extended
    answers 422 by default)."""
    return jsonify(msg=reason), 401


def _login_names_the_provider():
    """FAB's login reads `provider`, which its schema leaves optional: without it, a KeyError (a 500).
    Answer the 400 of FAB's own validation instead."""
    if request.endpoint == "SecurityApi.login":
        body = request.get_json(silent=True)
        if isinstance(body, dict) and "provider" not in body:
            return jsonify(message={"provider": ["Missing data for required field."]}), 400
    return None


def _rison_or_400():
    """FAB's @rison catches only prison's ParserException: a `q` on which prison raises anything else
    (`q=-2.0e+136`: a ValueError) was a 500 on every list, item and _info endpoint. Same 400 as FAB's."""
    value = request.args.get("q") if request.path.startswith("/api/") else None
    if value:
        try:
            prison.loads(value)
        except prison.decoder.ParserException:
            pass  # FAB's own handling: a JSON fallback, else its 400
        except Exception:  # noqa: BLE001 - prison's other failures on malformed input
            return jsonify(message="Not a valid rison/json argument"), 400
    return None


def register_apis(appbuilder) -> None:
    """Add every REST API, the OpenAPI spec and its Swagger page (FAB_ADD_OPENAPI_VIEWS is off); a bad JWT
    answers 401, a login without `provider` 400, an unparsable `q` 400."""
    from app.api.forecast import ForecastApi
    from app.api.journal import JOURNAL_APIS
    from app.api.openapi import OpenApi, SwaggerView
    from app.api.results import RESULT_APIS
    from app.api.rison import install as install_rison
    from app.api.stats import StatsApi

    install_rison()  # FAB's @rison re-checked its schemas at every request
    for api in APIS + JOURNAL_APIS + RESULT_APIS + [ForecastApi, StatsApi, OpenApi]:
        appbuilder.add_api(api)
    appbuilder.add_view_no_menu(SwaggerView)
    appbuilder.sm.jwt_manager.invalid_token_loader(_invalid_token)
    current_app.before_request(_login_names_the_provider)
    current_app.before_request(_rison_or_400)
