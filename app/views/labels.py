"""Column labels, in one place for every view and API (translated by Babel)."""
from flask_babel import lazy_gettext as _l

LABELS = {
    "school": _l("School"), "full_name": _l("Full name"), "short_name": _l("Short name"),
    "address": _l("Address"), "director": _l("Director"), "study_days_per_week": _l("Study days a week"),
    "name": _l("Name"), "start": _l("Start"), "end": _l("End"), "year": _l("Academic year"),
    "kind": _l("Kind"), "number": _l("Number"), "closed": _l("Closed"), "grade": _l("Grade"),
    "start_time": _l("Start time"), "end_time": _l("End time"), "pass_fail": _l("Pass/fail"),
    "weight": _l("Weight"), "surname": _l("Surname"), "patronymic": _l("Patronymic"),
    "position": _l("Position"), "user": _l("User account"), "file_number": _l("Personal file number"),
    "birth_date": _l("Birth date"), "class_unit": _l("Class"), "enrolled_on": _l("Enrolled on"),
    "left_on": _l("Left on"), "identity_document": _l("Identity document"), "student": _l("Student"),
    "guardian": _l("Legal representative"), "relation": _l("Relation to the student"),
    "authority_basis": _l("Basis of authority"), "letter": _l("Letter"),
    "class_teacher": _l("Class teacher"), "period_kind": _l("Period scheme"), "subject": _l("Subject"),
    "students": _l("Students"), "reason": _l("Reason"), "teacher": _l("Teacher"), "group": _l("Group"),
    "stream": _l("Stream"), "plan": _l("Individual plan"), "weekly_hours": _l("Hours a week"),
    "period": _l("Reporting period"), "planned_hours": _l("Planned hours"), "title": _l("Period"),
    "target": _l("Taught to"), "level": _l("Level"),
}

# People: "name" is the given name, not the name of a thing.
PERSON_LABELS = {"name": _l("First name")}
