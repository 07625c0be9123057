"""The role table: which role may read or write which resource (synced by `school init`), and what
each role may do beyond that (its capabilities, read by the scope, the journal and the extracts)."""
from collections.abc import Iterable

from app.security import permissions as p

ROLE_ADMIN = "Admin"
ROLE_ADMINISTRATION = "Administration"
ROLE_TEACHER = "Teacher"
ROLE_CLASS_TEACHER = "ClassTeacher"
ROLE_REGISTRAR = "Registrar"
ROLE_AUDITOR = "Auditor"
ROLE_PUBLIC = "Public"

SCHOOL_RESOURCES = (
    p.RESOURCE_SCHOOL, p.RESOURCE_ACADEMIC_YEAR, p.RESOURCE_REPORTING_PERIOD,
    p.RESOURCE_HOLIDAY, p.RESOURCE_BELL_SLOT, p.RESOURCE_SUBJECT, p.RESOURCE_WORK_TYPE,
    p.RESOURCE_STAFF, p.RESOURCE_CLASS_UNIT, p.RESOURCE_ENROLMENT, p.RESOURCE_STUDY_GROUP,
    p.RESOURCE_STREAM, p.RESOURCE_INDIVIDUAL_PLAN, p.RESOURCE_STUDENT, p.RESOURCE_GUARDIAN,
    p.RESOURCE_STUDENT_GUARDIAN, p.RESOURCE_TEACHING_ASSIGNMENT, p.RESOURCE_CURRICULUM,
    p.RESOURCE_ASSESSMENT_RULE,
)
JOURNAL_RESOURCES = (
    p.RESOURCE_JOURNAL, p.RESOURCE_TIMETABLE, p.RESOURCE_LESSON, p.RESOURCE_LESSON_CHANGE,
    p.RESOURCE_CONTROL_WORK, p.RESOURCE_MARK, p.RESOURCE_ATTENDANCE, p.RESOURCE_RECOMMENDATION,
)
TEACHER_WRITES = (
    p.RESOURCE_JOURNAL, p.RESOURCE_LESSON, p.RESOURCE_CONTROL_WORK, p.RESOURCE_MARK, p.RESOURCE_ATTENDANCE,
    p.RESOURCE_RECOMMENDATION, p.RESOURCE_FINAL_GRADE,
)
CONSENT_RESOURCES = (p.RESOURCE_CONSENT, p.RESOURCE_CONTACT, p.RESOURCE_DELIVERY)
RESULTS_RESOURCES = (
    p.RESOURCE_FINAL_GRADE, p.RESOURCE_EXAM_RESULT, p.RESOURCE_STATISTICS, p.RESOURCE_FORECAST,
    p.RESOURCE_ACADEMIC_RECORD, p.RESOURCE_NOTIFICATION, p.RESOURCE_EXTRACT_LOG, p.RESOURCE_JOURNAL_CONTROL,
)
# The portal exchange: the administration reads and retries, the auditor reads, teachers see none.
EXCHANGE_RESOURCES = (p.RESOURCE_EXCHANGE, p.RESOURCE_OUTBOX)
STRUCTURE_RESOURCES = SCHOOL_RESOURCES
SCHOOL_RESOURCES = (STRUCTURE_RESOURCES + JOURNAL_RESOURCES + CONSENT_RESOURCES + RESULTS_RESOURCES
                    + (p.RESOURCE_AUDIT,) + EXCHANGE_RESOURCES)
# What every teacher reads to do the job (rows are narrowed further by the scope).
TEACHING_READS = (
    p.RESOURCE_SCHOOL, p.RESOURCE_ACADEMIC_YEAR, p.RESOURCE_REPORTING_PERIOD, p.RESOURCE_HOLIDAY,
    p.RESOURCE_BELL_SLOT, p.RESOURCE_SUBJECT, p.RESOURCE_WORK_TYPE, p.RESOURCE_STAFF,
    p.RESOURCE_CLASS_UNIT, p.RESOURCE_STUDY_GROUP, p.RESOURCE_STREAM, p.RESOURCE_INDIVIDUAL_PLAN,
    p.RESOURCE_STUDENT, p.RESOURCE_TEACHING_ASSIGNMENT, p.RESOURCE_CURRICULUM, p.RESOURCE_ASSESSMENT_RULE,
    *JOURNAL_RESOURCES,
    p.RESOURCE_FINAL_GRADE, p.RESOURCE_EXAM_RESULT, p.RESOURCE_FORECAST, p.RESOURCE_JOURNAL_CONTROL,
)
# What families are told besides marks (the registrar prints it for paper recipients).
FAMILY_INFORMATION = (p.RESOURCE_TIMETABLE, p.RESOURCE_LESSON_CHANGE, p.RESOURCE_CONTROL_WORK)
# Read-only resources: nobody writes the audit trail, the print log or the outbox by hand.
NO_WRITES = (p.RESOURCE_AUDIT, p.RESOURCE_EXTRACT_LOG, p.RESOURCE_OUTBOX)
# Printing extracts (rows narrowed by services.extracts.may_print); the auditor reads the log instead.
PRINTS = (p.RESOURCE_EXTRACT,)
REGISTRAR_WRITES = (
    p.RESOURCE_STUDENT, p.RESOURCE_GUARDIAN, p.RESOURCE_STUDENT_GUARDIAN, p.RESOURCE_ENROLMENT,
    *CONSENT_RESOURCES, p.RESOURCE_ROSTER_IMPORT,
)


# What every signed-in user may do for themselves: own profile, password, API description, menu.
SELF_SERVICE = {
    ("can_userinfo", "UserDBModelView"), ("resetmypassword", "UserDBModelView"),
    ("userinfoedit", "UserDBModelView"), ("can_this_form_get", "ResetMyPasswordView"),
    ("can_this_form_post", "ResetMyPasswordView"), ("can_this_form_get", "UserInfoEditView"),
    ("can_this_form_post", "UserInfoEditView"), ("can_get", "OpenApi"), ("can_show", "SwaggerView"),
    ("can_get", "MenuApi"),
}


def _grants(action: str, resources) -> set[tuple[str, str]]:
    return {(f"can_{action}", r) for r in resources}


# Role → set of (permission, resource). Admin additionally keeps every FAB permission.
_ROLE_GRANTS: dict[str, set[tuple[str, str]]] = {
    ROLE_ADMIN: _grants(p.ACTION_READ, SCHOOL_RESOURCES + (p.RESOURCE_ROSTER_IMPORT,))
    | _grants(p.ACTION_WRITE, tuple(r for r in SCHOOL_RESOURCES if r not in NO_WRITES)
              + (p.RESOURCE_ROSTER_IMPORT,)) | _grants(p.ACTION_READ, PRINTS) | _grants(p.ACTION_WRITE, PRINTS),
    ROLE_ADMINISTRATION: _grants(p.ACTION_READ, SCHOOL_RESOURCES + (p.RESOURCE_ROSTER_IMPORT,))
    | _grants(p.ACTION_WRITE, tuple(r for r in SCHOOL_RESOURCES if r not in NO_WRITES)
              + (p.RESOURCE_ROSTER_IMPORT,)) | _grants(p.ACTION_READ, PRINTS) | _grants(p.ACTION_WRITE, PRINTS),
    ROLE_TEACHER: _grants(p.ACTION_READ, TEACHING_READS) | _grants(p.ACTION_WRITE, TEACHER_WRITES),
    ROLE_CLASS_TEACHER: _grants(p.ACTION_READ, TEACHING_READS) | _grants(p.ACTION_WRITE, TEACHER_WRITES)
    | _grants(p.ACTION_READ, (p.RESOURCE_GUARDIAN, p.RESOURCE_STUDENT_GUARDIAN, p.RESOURCE_ENROLMENT,
                              *CONSENT_RESOURCES, p.RESOURCE_ACADEMIC_RECORD, p.RESOURCE_NOTIFICATION))
    | _grants(p.ACTION_READ, PRINTS) | _grants(p.ACTION_WRITE, PRINTS),
    ROLE_REGISTRAR: _grants(p.ACTION_READ, STRUCTURE_RESOURCES + FAMILY_INFORMATION + CONSENT_RESOURCES
                            + (p.RESOURCE_ROSTER_IMPORT,))
    | _grants(p.ACTION_WRITE, REGISTRAR_WRITES) | _grants(p.ACTION_READ, PRINTS) | _grants(p.ACTION_WRITE, PRINTS),
    ROLE_AUDITOR: _grants(p.ACTION_READ, SCHOOL_RESOURCES),
}
ROLE_PERMISSIONS = {role: grants | SELF_SERVICE for role, grants in _ROLE_GRANTS.items()} | {ROLE_PUBLIC: set()}

# Capabilities: what a role may do that its resources alone do not say.
ALL_SCHOOLS = "all_schools"  # the deployment admin (a login with no staff record) sees every school
READS_SCHOOL = "reads_school"  # every row of the school, not only the classes one teaches
ADMINISTERS = "administers"  # writes for any teacher, edits any mark until the period closes, defers finals
PRINTS_ANY_STUDENT = "prints_any_student"  # paper extracts of any student of the school
PRINTS_HOMEROOM = "prints_homeroom"  # paper extracts of one's own class
PRINTS_PAPER_RECIPIENTS = "prints_paper_recipients"  # paper extracts of families without electronic delivery

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    ROLE_ADMIN: frozenset({ALL_SCHOOLS, READS_SCHOOL, ADMINISTERS, PRINTS_ANY_STUDENT}),
    ROLE_ADMINISTRATION: frozenset({READS_SCHOOL, ADMINISTERS, PRINTS_ANY_STUDENT}),
    ROLE_TEACHER: frozenset(),
    ROLE_CLASS_TEACHER: frozenset({PRINTS_HOMEROOM}),
    ROLE_REGISTRAR: frozenset({READS_SCHOOL, PRINTS_PAPER_RECIPIENTS}),
    ROLE_AUDITOR: frozenset({READS_SCHOOL}),
    ROLE_PUBLIC: frozenset(),
}


def capabilities(roles: Iterable) -> frozenset[str]:
    """What a user with these roles (names or FAB Role rows) may do: the union of their capabilities."""
    names = (getattr(r, "name", r) for r in roles)
    return frozenset().union(*(ROLE_CAPABILITIES.get(name, frozenset()) for name in names))
