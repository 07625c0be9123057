"""Column labels, in one place for every view and API (translated by Babel); table labels are the
menu's (filled when the views are registered)."""
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
    "assignment": _l("Teaching assignment"), "weekday": _l("Weekday"), "bell_slot": _l("Lesson number"),
    "room": _l("Room"), "valid_from": _l("Valid from"), "valid_to": _l("Valid to"), "date": _l("Date"),
    "topic": _l("Topic"), "lesson_type": _l("Lesson type"), "status": _l("Status"), "homework": _l("Homework"),
    "homework_due": _l("Due"), "lesson": _l("Lesson"), "new_teacher": _l("New teacher"),
    "old_teacher": _l("Teacher before"), "new_date": _l("New date"), "old_date": _l("Date before"),
    "new_slot": _l("New lesson number"), "changed_by": _l("Changed by"), "changed_at": _l("Changed at"),
    "text": _l("Text"), "value": _l("Mark"), "work_type": _l("Work type"), "comment": _l("Comment"),
    "code": _l("Attendance"), "version": _l("Version"), "mode": _l("Assessment"),
    # The consent registry, contacts and delivery.
    "decision": _l("Decision"), "decided_on": _l("Decided on"), "document_kind": _l("Document"),
    "document_number": _l("Document number"), "document_date": _l("Document date"),
    "electronic_document_id": _l("Electronic document identifier"), "operator": _l("Data operator"),
    "purpose": _l("Purpose"), "data_list": _l("Personal data"), "actions": _l("Actions with the data"),
    "term": _l("Term"), "withdrawal_procedure": _l("How to withdraw"), "recorded_by": _l("Recorded by"),
    "recorded_at": _l("Recorded at"), "provenance": _l("Provenance"),
    "document_reference": _l("Statement or e-document"), "active": _l("Active"), "channel": _l("Channel"),
    "contact": _l("Contact"), "contact_value": _l("Contact"),
    "prev_hash": _l("Hash of the previous event"), "hash": _l("Hash of the event"),
}

# People: "name" is the given name, not the name of a thing.
PERSON_LABELS = {"name": _l("First name")}


def _enum_labels() -> dict:
    from app.models import AssessmentMode, AttendanceCode, ChangeKind, LessonStatus, LessonType
    from app.models.school import PERIOD_KIND_LABELS

    return {
        **PERIOD_KIND_LABELS,
        LessonType.regular: _l("regular lesson"), LessonType.control_work: _l("control work"),
        LessonType.test: _l("test"), LessonType.laboratory: _l("laboratory work"),
        LessonType.practical: _l("practical work"), LessonType.excursion: _l("excursion"),
        LessonType.exam: _l("exam"),
        LessonStatus.planned: _l("planned"), LessonStatus.held: _l("held"), LessonStatus.cancelled: _l("cancelled"),
        ChangeKind.substitution: _l("substitution"), ChangeKind.rescheduling: _l("rescheduling"),
        ChangeKind.cancellation: _l("cancellation"),
        **{c: c.value for c in AttendanceCode},
        AssessmentMode.unmarked: _l("unmarked"), AssessmentMode.pass_fail: _l("pass/fail"),
    }


def _family_labels() -> dict:
    """Enums whose values repeat in other enums (`portal`, `email`, `paper`): named per enum class."""
    from app.models import Channel, ContactKind, Decision, DocumentKind, Provenance

    return {
        Decision: {Decision.consent: _l("consent"), Decision.refusal: _l("refusal"),
                   Decision.withdrawal: _l("withdrawal of consent")},
        DocumentKind: {DocumentKind.paper: _l("paper statement"), DocumentKind.electronic: _l("electronic document")},
        ContactKind: {ContactKind.portal: _l("state services portal"), ContactKind.email: _l("e-mail"),
                      ContactKind.phone: _l("phone"), ContactKind.postal: _l("postal address")},
        Provenance: {Provenance.written_statement: _l("written statement"),
                     Provenance.electronic_document: _l("electronic document")},
        Channel: {Channel.portal: _l("state services portal"), Channel.email: _l("e-mail"),
                  Channel.paper: _l("paper extract")},
    }


ENUM_LABELS = _enum_labels()
CLASS_ENUM_LABELS = _family_labels()


def enum_label(value):
    """The translated name of an enum value (as is for anything else)."""
    own = CLASS_ENUM_LABELS.get(type(value))
    if own is not None and value in own:
        return own[value]
    return ENUM_LABELS.get(value, value)


# table name → the menu label of its view (filled when the views are registered); tables without a page
# of their own are named here.
TABLE_LABELS: dict = {"mark": _l("Marks in the journal"), "attendance": _l("Attendance"),
                      "period_status_change": _l("Closing and reopening of periods")}


def table_label(name: str):
    """The translated name of a table's rows, as the menu calls them (the table name otherwise)."""
    return TABLE_LABELS.get(name, name)
