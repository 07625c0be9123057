"""Row-level tampering: a teacher and a class teacher of 5А put ids of rows they must not see into
every URL, query string and body that takes one: nothing of those rows is shown, nothing changes.

The foreign rows live in 5Б (another class of the same school) and in school B, one of every model
that has an id-taking route; their text carries markers (СЕКРЕТ-…, sekret-…, the surnames of their
students and staff) that no answer to these users may contain.

The routes come from `app.url_map`: every rule with an id argument (`<pk>`, `<id:class_id>`…) is
filled with each foreign row of its model, with every method it allows; the lists of the model views
and APIs are filtered by foreign related ids, and their add forms and POST bodies name foreign
related rows. Our pages that take ids in the query string or the form are listed in QUERY_PAGES. A
new route with an id argument that no rule fills, a new page of ours that is in neither QUERY_PAGES
nor NO_ID_PAGES, or a model without planted foreign rows fails `test_every_id_taking_route_is_covered`.

An answer is a refusal when it is 400, 403 or 404, or a redirect inside the site whose page shows no
marker; a write may also be refused with 422 (the REST API and the JSON endpoints) or by the add form
shown again with the field's error (200); a page that ignores an id it may not use (and shows the
user's own data instead) answers 200. Never a 5xx, never a marker, and the school tables are equal
before and after.
"""
import datetime as dt
import html
import io
import json
import uuid
from dataclasses import dataclass
from types import SimpleNamespace
from urllib.parse import urlencode, urljoin, urlsplit

import pytest
from flask_appbuilder import ModelView
from flask_appbuilder.api import BaseApi, ModelRestApi
from flask_appbuilder.models.sqla.interface import SQLAInterface
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    AssessmentMode,
    AssessmentRule,
    Attendance,
    AttendanceCode,
    AuditEvent,
    BellSlot,
    ChangeKind,
    Channel,
    ClassUnit,
    Consent,
    ContactKind,
    ContactPoint,
    ControlWorkPlan,
    CurriculumItem,
    Decision,
    DeliveryPreference,
    DocumentKind,
    Enrolment,
    ExamKind,
    ExamResult,
    ExtractLog,
    FinalGrade,
    FinalStatus,
    FinalValue,
    Guardian,
    Holiday,
    IndividualPlan,
    Lesson,
    LessonChange,
    Mark,
    Notification,
    NotificationKind,
    OutboxMessage,
    OutboxStatus,
    Provenance,
    Recommendation,
    ReportingPeriod,
    School,
    Staff,
    Stream,
    Student,
    StudentGuardian,
    StudyGroup,
    Subject,
    TeachingAssignment,
    TimetableEntry,
    WorkType,
)
from app.security.permissions import CAN_WRITE
from app.security.roles import ROLE_CLASS_TEACHER, ROLE_TEACHER
from app.security.scope import _TEACHER_RULES, SCHOOL_WIDE
from app.services.audit import acting_as
from tests.journal_helpers import HTTP_TODAY, freeze_today, math_of, period_of
from tests.security_helpers import bearer, changed_tables, granted, is_ours, listed_pks, may, snapshot

USERS = ("teacher", "classteacher")  # both of 5А: `teacher` teaches it mathematics, `classteacher` leads it
OTHER_CLASS, OTHER_SCHOOL = "5Б", "school B"

# Text no answer to the users may contain: every planted text field starts with СЕКРЕТ (sekret in
# e-mail addresses); the surnames are of 5Б's and school B's students, representatives and staff.
MARKERS = ("СЕКРЕТ", "sekret", "Соседкин", "Чужаков", "Васильев", "Гаврилов", "Чужова", "teacher_other@")

# Models whose rows the fixture plants in 5Б (hidden from the teachers of 5А by the row-level scope)…
IN_OTHER_CLASS = {
    ClassUnit, Student, Enrolment, StudyGroup, Stream, IndividualPlan, Guardian, StudentGuardian,
    TeachingAssignment, CurriculumItem, TimetableEntry, Lesson, LessonChange, ControlWorkPlan, Mark, Attendance,
    Recommendation, Consent, ContactPoint, DeliveryPreference, FinalGrade, ExamResult, Notification,
    OutboxMessage, ExtractLog, AuditEvent,
}
# …and the allow-list of models shared by the whole school: every teacher reads the school's calendar,
# bells, subjects, work types and staff directory (app.security.scope.SCHOOL_WIDE), and the school
# itself. Their rows are attacked with school B's only.
SHARED_IN_SCHOOL = {
    School: "the user's own school (name, address) is on every page",
    AcademicYear: "the school's calendar",
    ReportingPeriod: "the school's calendar (quarters, the year)",
    Holiday: "the school's calendar",
    BellSlot: "the bell schedule",
    Subject: "the school's subjects",
    WorkType: "the weights of marks",
    Staff: "the staff directory (substitutions name any teacher of the school)",
    AssessmentRule: "the school's unmarked and pass/fail learning, which every journal follows",
}
IN_OTHER_SCHOOL = IN_OTHER_CLASS | set(SHARED_IN_SCHOOL)

# Route arguments that are not row ids.
NOT_ID_ARGUMENTS = {
    "filename": "FAB's file download and static files: a file name (no model of ours has file columns)",
    "locale": "the language switch",
    "version": "the OpenAPI and Swagger version",
    "group_by": "FAB's login statistics chart (Admin only)",
    "name": "an action's name; the <pk> beside it is attacked",
}
# Id arguments of our own pages (not FAB's <pk>) and the model each names.
PATH_ARGUMENT_MODELS = {"class_id": ClassUnit, "lesson_id": Lesson, "period_id": ReportingPeriod,
                        "student_id": Student}
# Endpoints of our pages that take no id at all (the rows shown follow the user's scope).
NO_ID_PAGES = {
    "HomeView.index": "the greeting with the user's school and classes",
    "JournalView.index": "the user's own journals",
    "FinalsView.index": "the user's own journals and classes",
    "ConsentPagesView.history_csv": "the consent history, scoped by the query",
    "ExtractsView.index": "the print form with the user's own choices",
    "RosterView.page": "the upload form of the user's school",
    "TimetableWeekView.index": "the user's own classes, their own name, the school's rooms",
    "TimetableWeekView.import_page": "the upload form of the user's school",
    "TimetableWeekView.template": "an empty template",
    "TimetableWeekView.upload": "the administration's upload; the year is one of the user's school",
    "RosterView.template_xlsx": "an empty template",
    "RosterView.template_csv": "an empty template",
    "ExchangeView.index": "the outbox of the user's school",
    "ControlView.index": "the list of the control reports",
    "NewYearView.build": "builds the next year of the user's own school (`school` is read for the system admin only)",
    "ExchangeView.retry": "re-queues the failed messages of the user's school, no ids",
    "AuthDBView.login": "signing in",
    "AuthDBView.logout": "signing out the user's own sessions",
}
# Methods of the model views and APIs attacked without a path id: their lists (filtered by a foreign
# related id), add forms and POST bodies (naming a foreign related row), list actions (rowid).
# (`csv`, the auditor lists' file, runs the list's own query with its base filters: tests/test_list_csv.py.)
MODEL_QUERY_METHODS = {"list", "csv", "add", "action_post", "get_list", "post"}
# …and those that take no id: FAB's file download (see "filename") and the API's field description.
MODEL_NO_ID_METHODS = {"download": NOT_ID_ARGUMENTS["filename"], "info": "the API's field description"}

WRITE_TEXT = "ВЗЛОМ"


# --- the rows ------------------------------------------------------------------------------------


@dataclass
class Planted:
    """The foreign rows ((where, pk) by model) and the users' own ids."""

    rows: dict[type, list[tuple[str, int]]]
    own: SimpleNamespace

    def pk(self, model, where: str = OTHER_SCHOOL) -> int:
        return next(pk for w, pk in self.rows[model] if w == where)

    def pks(self, model) -> list[int]:
        return [pk for _w, pk in self.rows[model]]


def _plant(where: str, tag: str, ascii_tag: str, school, year, cls, teacher, subject, student_name: str,
           guardian_name: str) -> dict[type, int]:
    """One row of every model of IN_OTHER_CLASS, in `cls`, with СЕКРЕТ-<tag>-… texts."""
    secret = f"СЕКРЕТ-{tag}-".__add__
    q1 = period_of(year, 1)
    slot = db.session.scalar(select(BellSlot).where(BellSlot.school_id == school.id))
    work_type = db.session.scalar(select(WorkType).where(WorkType.school_id == school.id))
    assignment = db.session.scalar(select(TeachingAssignment).where(TeachingAssignment.class_unit_id == cls.id))
    kid = Student(school=school, surname=student_name, name="Пётр", patronymic="Петрович",
                  birth_date=dt.date(2015, 5, 5), class_unit=cls, enrolled_on=year.start, file_number=secret("дело"))
    enrolment = Enrolment(school=school, student=kid, class_unit=cls, start=year.start)
    guardian = Guardian(school=school, surname=guardian_name, name="Ольга", patronymic="Петровна",
                        identity_document=secret("паспорт"))
    link = StudentGuardian(school=school, student=kid, guardian=guardian, relation="мать",
                           authority_basis=secret("основание"))
    group = StudyGroup(school=school, class_unit=cls, subject=subject, name=secret("группа"), students=[kid])
    stream = Stream(school=school, year=year, name=secret("поток"), students=[kid])
    plan = IndividualPlan(school=school, year=year, student=kid, subject=subject, reason=secret("план"))
    group_assignment = TeachingAssignment(school=school, year=year, teacher=teacher, subject=subject, group=group,
                                          weekly_hours=1)
    curriculum = CurriculumItem(school=school, class_unit=cls, subject=subject, period=q1, weekly_hours=3,
                                planned_hours=24)
    entry = TimetableEntry(school=school, assignment=assignment, weekday=4, bell_slot=slot, room=secret("каб"),
                           valid_from=year.start, valid_to=year.end)
    lesson = Lesson(school=school, assignment=assignment, date=HTTP_TODAY, bell_slot=slot, teacher=teacher,
                    topic=secret("тема"), homework=secret("дз"))
    change = LessonChange(school=school, lesson=lesson, kind=ChangeKind.substitution, old_teacher=teacher,
                          new_teacher=teacher, old_date=HTTP_TODAY, reason=secret("замена"), changed_by=secret("кто"))
    control = ControlWorkPlan(school=school, assignment=assignment, date=dt.date(2026, 12, 2), topic=secret("кр"))
    mark = Mark(school=school, lesson=lesson, student=kid, work_type=work_type, value=4, comment=secret("отметка"),
                author=secret("автор"))
    attendance = Attendance(school=school, lesson=lesson, student=kid, code=AttendanceCode.late, author=secret("автор"))
    advice = Recommendation(school=school, teacher=teacher, student=kid, subject=subject, text=secret("совет"),
                            date=HTTP_TODAY)
    consent = Consent(school=school, student=kid, guardian=guardian, decision=Decision.consent,
                      decided_on=dt.date(2026, 9, 10), authority_basis=secret("основание"), operator=secret("оператор"),
                      purpose=secret("цель"), data_list=secret("данные"), actions=secret("действия"),
                      term=secret("срок"), withdrawal_procedure=secret("отзыв"), document_kind=DocumentKind.paper,
                      document_number=secret("№"), document_date=dt.date(2026, 9, 10), recorded_by=secret("кто"))
    contact = ContactPoint(school=school, guardian=guardian, kind=ContactKind.email,
                           value=f"sekret-{ascii_tag}@mail.test", provenance=Provenance.written_statement,
                           document_reference=secret("заявление"))
    delivery = DeliveryPreference(school=school, student=kid, channel=Channel.email, contact=contact)
    final = FinalGrade(school=school, student=kid, subject=subject, period=q1, proposed_value=FinalValue.four,
                       status=FinalStatus.proposed, deferral_reason=secret("отсрочка"), decided_by=secret("кто"))
    exam = ExamResult(school=school, student=kid, subject=subject, kind=ExamKind.exam, name=secret("экзамен"),
                      date=dt.date(2026, 11, 10), score=10, grade=secret("итог")[:20],
                      result_date=dt.date(2026, 11, 12))
    note = Notification(school=school, student=kid, kind=NotificationKind.forecast, title=secret("письмо"),
                        body=secret("текст"), key=f"tamper-{ascii_tag}", failure=secret("сбой"))
    message = OutboxMessage(school=school, key=str(uuid.uuid4()), kind="mark", student=kid,
                            payload={"text": secret("портал")}, status=OutboxStatus.failed, failure=secret("сбой"))
    extract = ExtractLog(school=school, seq=1, number=f"Э-{ascii_tag}-0001", student=kid, class_unit=cls, period=q1,
                         sections="timetable", date_from=q1.start, date_to=q1.end, printed_by=secret("печать"),
                         printed_at=dt.datetime(2026, 11, 1, 10), sha256="0" * 64, pages=1)
    rows = {ClassUnit: cls, Student: kid, Enrolment: enrolment, StudyGroup: group, Stream: stream,
            IndividualPlan: plan, Guardian: guardian, StudentGuardian: link, TeachingAssignment: group_assignment,
            CurriculumItem: curriculum, TimetableEntry: entry, Lesson: lesson, LessonChange: change,
            ControlWorkPlan: control, Mark: mark, Attendance: attendance, Recommendation: advice, Consent: consent,
            ContactPoint: contact, DeliveryPreference: delivery, FinalGrade: final, ExamResult: exam,
            Notification: note, OutboxMessage: message, ExtractLog: extract}
    with acting_as(secret("аудит")):  # the audit trail of these rows names a marker too
        db.session.add_all(rows.values())
        db.session.commit()
    audit = db.session.scalar(select(AuditEvent.id).where(AuditEvent.school_id == school.id,
                                                          AuditEvent.entity_id == mark.id).limit(1))
    assert audit is not None, "the audit trail records the planted mark"
    return {**{model: obj.id for model, obj in rows.items()}, AuditEvent: audit}


@pytest.fixture
def planted(app, world) -> Planted:
    """Foreign rows in 5Б and school B (committed), the school day fixed, and the teachers' own ids."""
    freeze_today(app, HTTP_TODAY)
    b, yb = world.school_b, world.year_b
    b.full_name, b.address = "МБОУ «СЕКРЕТ-ШБ-школа»", "СЕКРЕТ-ШБ-адрес"
    yb.name = "СЕКРЕТ-ШБ-год"
    world.subjects["math_b"].name = "СЕКРЕТ-ШБ-предмет"
    for model, name in ((Holiday, "СЕКРЕТ-ШБ-каникулы"), (WorkType, "СЕКРЕТ-ШБ-работа")):
        db.session.scalar(select(model).where(model.school_id == b.id)).name = name
    db.session.commit()
    rows: dict[type, list[tuple[str, int]]] = {}
    for where, args in (
        (OTHER_CLASS, ("5Б", "5b", world.school_a, world.year_a, world.classes["5Б"], world.staff["teacher_b"],
                       world.subjects["math"], "Соседкин", "Соседкина")),
        (OTHER_SCHOOL, ("ШБ", "sb", b, yb, world.classes["B5А"], world.staff["teacher_other"],
                        world.subjects["math_b"], "Чужаков", "Чужакова")),
    ):
        for model, pk in _plant(where, *args).items():
            rows.setdefault(model, []).append((where, pk))
    rule_b = AssessmentRule(school=b, grade=1, mode=AssessmentMode.unmarked)
    db.session.add(rule_b)
    db.session.commit()
    shared = {School: b.id, AcademicYear: yb.id, ReportingPeriod: period_of(yb, 1).id,
              Staff: world.staff["teacher_other"].id, AssessmentRule: rule_b.id}
    for model in (Holiday, BellSlot, Subject, WorkType):
        shared[model] = db.session.scalar(select(model.id).where(model.school_id == b.id).limit(1))
    for model, pk in shared.items():
        rows[model] = [(OTHER_SCHOOL, pk)]
    assert {m for m, r in rows.items() if any(w == OTHER_CLASS for w, _ in r)} == IN_OTHER_CLASS
    assert set(rows) == IN_OTHER_SCHOOL

    # What `teacher` may use: the mathematics of 5А, its lesson today, Алексеев, the school's work types.
    assignment = math_of(world, "5А")
    lesson = Lesson(school=world.school_a, assignment=assignment, date=HTTP_TODAY, teacher=world.staff["teacher"],
                    bell_slot=db.session.scalar(select(BellSlot).where(BellSlot.school_id == world.school_a.id)),
                    topic="СВОЁ-тема", homework="СВОЁ-дз")
    answer = WorkType(school=world.school_a, name="Ответ на уроке", weight=1)
    db.session.add_all([lesson, answer])
    db.session.commit()
    own = SimpleNamespace(
        school=world.school_a.id, cls=world.classes["5А"].id, student=world.students["Алексеев"].id,
        staff=world.staff["teacher"].id, subject=world.subjects["math"].id, assignment=assignment.id,
        lesson=lesson.id, slot=lesson.bell_slot_id, year=world.year_a.id,
        work_type=db.session.scalar(select(WorkType.id).where(WorkType.school_id == world.school_a.id,
                                                              WorkType.id != answer.id)),
        answer=answer.id, q1=period_of(world.year_a, 1).id, q2=period_of(world.year_a, 2).id,
    )
    return Planted(rows, own)


# --- plausible bodies ----------------------------------------------------------------------------
# Bodies of the writes `teacher` may make, with the own ids (test_own_ids_pass proves each is
# accepted); an attack replaces one id with a foreign one, so its refusal is about that id only.

UI_ADD = {
    Lesson: lambda o: {"assignment": o.assignment, "date": "2026-11-18", "bell_slot": o.slot, "teacher": o.staff,
                       "room": "12", "topic": "Новый урок", "lesson_type": "regular", "homework": "§ 5",
                       "homework_due": ""},
    ControlWorkPlan: lambda o: {"assignment": o.assignment, "date": "2026-12-01", "kind": "control_work",
                                "topic": "Новая работа"},
    Recommendation: lambda o: {"student": o.student, "subject": o.subject, "text": "Новый совет",
                               "date": "2026-11-20"},
}
API_ADD = {
    Lesson: lambda o: {"assignment": o.assignment, "date": "2026-11-19", "bell_slot": o.slot, "teacher": o.staff,
                       "room": "", "topic": "Новый урок", "lesson_type": "regular", "status": "planned",
                       "homework": "", "homework_due": None},
    Recommendation: lambda o: {"teacher": o.staff, "student": o.student, "subject": o.subject,
                               "text": "Новый совет", "date": "2026-11-20"},
    Mark: lambda o: {"lesson": o.lesson, "student": o.student, "work_type": o.work_type, "value": 5, "comment": ""},
    Attendance: lambda o: {"lesson": o.lesson, "student": o.student, "code": "Н"},
    FinalGrade: lambda o: {"student": o.student, "subject": o.subject, "period": o.q1, "value": "5"},
}
API_PUT = {Mark: {"value": 2, "version": 1}, Attendance: {"code": "Б", "version": 1},
           FinalGrade: {"value": "2", "version": 1}, Lesson: {"topic": WRITE_TEXT, "homework": WRITE_TEXT},
           Recommendation: {"text": WRITE_TEXT}}
DEFAULT_FORM = {"name": WRITE_TEXT, "surname": WRITE_TEXT, "topic": WRITE_TEXT, "text": WRITE_TEXT}
PATH_JSON = {"JournalView.save_lesson": {"topic": WRITE_TEXT, "homework": WRITE_TEXT}}


# --- attempts ------------------------------------------------------------------------------------

REFUSE, WRITE, PAGE, LIST = "refuse", "write", "page", "list"


@dataclass(frozen=True)
class Attempt:
    """One request; `answer` says what besides a refusal is fine (see the module's docstring)."""

    api: bool
    http: str
    url: str
    form: dict | None = None
    json: dict | None = None
    answer: str = REFUSE

    def send(self, client, headers):
        kwargs = {"headers": headers} if self.api else {}
        if self.json is not None:
            kwargs["json"] = self.json
        elif self.form is not None:
            kwargs["data"] = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in self.form.items()}
        return client.open(self.url, method=self.http, **kwargs)


def _url(path: str, **params) -> str:
    return f"{path}?{urlencode(params)}" if params else path



def _views(app) -> dict:
    return {view.endpoint: view for view in app.appbuilder.baseviews}


def _methods(rule) -> list[str]:
    return sorted(rule.methods & {"GET", "POST", "PUT", "DELETE"})


def path_plan(app) -> tuple[list[tuple], list[str]]:
    """(rule, view, model) of every rule with an id argument, and what no rule of this file fills."""
    views, plan, problems = _views(app), [], []
    for rule in app.url_map.iter_rules():
        ids = set(rule.arguments) - set(NOT_ID_ARGUMENTS)
        if not ids:
            continue
        view = views.get(rule.endpoint.partition(".")[0])
        datamodel = getattr(view, "datamodel", None)
        if view is None:
            problems.append(f"{rule.rule} ({rule.endpoint}): not a view of the app builder")
            continue
        if ids == {"pk"} and isinstance(datamodel, SQLAInterface):
            model = datamodel.obj
        elif len(ids) == 1 and next(iter(ids)) in PATH_ARGUMENT_MODELS:
            model = PATH_ARGUMENT_MODELS[next(iter(ids))]
        else:
            problems.append(f"{rule.rule} ({rule.endpoint}): id arguments {sorted(ids)} that no rule here fills")
            continue
        if is_ours(view) and model not in IN_OTHER_SCHOOL:
            problems.append(f"{rule.rule}: no foreign {model.__name__} is planted")
            continue
        plan.append((rule, view, model))
    return plan, problems


def _admin_only_pk(view, planted: Planted) -> int:
    """FAB's security views (Admin only): the other school's teacher's login, or any row."""
    model = view.datamodel.obj
    if model.__name__ == "User":
        return db.session.scalar(select(Staff.user_id).where(Staff.id == planted.pk(Staff)))
    return db.session.scalar(select(model.id).order_by(model.id).limit(1)) or 1


def path_attempts(app, planted: Planted) -> list[Attempt]:
    plan, problems = path_plan(app)
    assert not problems, "\n".join(problems)
    out = []
    for rule, view, model in plan:
        ids = set(rule.arguments) - set(NOT_ID_ARGUMENTS)
        rows = planted.pks(model) if is_ours(view) else [_admin_only_pk(view, planted)]
        names = [*getattr(view, "actions", {}), "no_such_action"] if "name" in rule.arguments else [None]
        api = isinstance(view, BaseApi)
        for pk in rows:
            for name in names:
                values = {arg: pk for arg in ids} | ({"name": name} if name else {})
                url = rule.build(values, append_unknown=False)[1]
                for http in _methods(rule):
                    form = body = None
                    if api and http == "PUT":
                        body = API_PUT.get(model, {"name": WRITE_TEXT})
                    elif rule.endpoint in PATH_JSON:
                        body = PATH_JSON[rule.endpoint]
                    elif http == "POST" and rule.endpoint.endswith(".edit"):
                        form = UI_ADD[model](planted.own) if model in UI_ADD else DEFAULT_FORM
                    out.append(Attempt(api, http, url, form, body))
    return out


def _relations(view, columns) -> list[tuple[str, type]]:
    return [(c, view.datamodel.get_related_model(c)) for c in columns or [] if view.datamodel.is_relation(c)]


def model_views(app):
    """Our model views and entity APIs."""
    return [v for v in app.appbuilder.baseviews if is_ours(v) and isinstance(v, (ModelView, ModelRestApi))]


def _has(app, view, method: str) -> bool:
    return f"{view.endpoint}.{method}" in app.view_functions


def model_query_attempts(app, planted: Planted) -> list[Attempt]:
    """Lists filtered by a foreign related id, add forms and POST bodies naming one, list actions."""
    out = []
    for view in model_views(app):
        api, model, base = isinstance(view, ModelRestApi), view.datamodel.obj, view.route_base
        for column, related in _relations(view, view.search_columns):
            for pk in planted.pks(related) if related in IN_OTHER_SCHOOL else []:
                if api:
                    equal = view._filters._search_filters[column][0].arg_name  # rel_o_m or rel_m_m
                    url = f"{base}/?q=(filters:!((col:{column},opr:{equal},value:{pk})))"
                else:
                    url = _url(f"{base}/list/", **{f"_flt_0_{column}": pk})
                out.append(Attempt(api, "GET", url, answer=LIST))
        if _has(app, view, "post" if api else "add"):
            template = (API_ADD if api else UI_ADD).get(model)
            for column, related in _relations(view, view.add_columns):
                many = view.datamodel.is_relation_many_to_many(column)
                for pk in planted.pks(related) if related in IN_OTHER_SCHOOL else []:
                    body = dict(template(planted.own)) if template else {}
                    body[column] = ([pk] if api else str(pk)) if many else pk
                    out.append(Attempt(api, "POST", f"{base}/" if api else f"{base}/add",
                                       None if api else body, body if api else None, WRITE))
        for action in [*getattr(view, "actions", {}), "no_such_action"] if _has(app, view, "action_post") else ():
            for pk in planted.pks(model):
                out.append(Attempt(False, "POST", f"{base}/action_post", {"action": action, "rowid": str(pk)}))
    for view in app.appbuilder.baseviews:  # FAB's own (Admin only) list actions, and a name nobody has
        if isinstance(view, ModelView) and not is_ours(view) and _has(app, view, "action_post"):
            for action in [*view.actions, "no_such_action"]:
                out.append(Attempt(False, "POST", f"{view.route_base}/action_post",
                                   {"action": action, "rowid": str(_admin_only_pk(view, planted))}))
    return out


def query_pages(p: Planted) -> dict[str, list[Attempt]]:
    """Our pages and APIs that take ids in the query string, the form or a JSON body."""
    o = p.own
    targets = {"class_id": ClassUnit, "group_id": StudyGroup, "stream_id": Stream, "plan_id": IndividualPlan}
    foreign_targets = [(key, pk) for key, model in targets.items() for pk in p.pks(model)]
    other_subject, other_period = p.pk(Subject), p.pk(ReportingPeriod)
    classes, students = p.pks(ClassUnit), p.pks(Student)

    def ui(http, url, form=None, body=None, answer=REFUSE):
        return Attempt(False, http, url, form, body, answer)

    def api(url):
        return Attempt(True, "GET", url)

    def journal_like(path):  # the grid and the finals sheet: a foreign journal, or the own one with a foreign id
        return [ui("GET", _url(path, target=key, id=pk, subject=o.subject, period=o.q2))
                for key, pk in foreign_targets] \
            + [ui("GET", _url(path, target="class_id", id=o.cls, subject=other_subject, period=o.q2)),
               ui("GET", _url(path, target="class_id", id=o.cls, subject=o.subject, period=other_period))]

    cell = {"lesson_id": o.lesson, "student_id": o.student, "period_id": o.q2}
    cells = [{**cell, "lesson_id": pk} for pk in p.pks(Lesson)] + [{**cell, "student_id": pk} for pk in students]
    finals_form = {"target": "class_id", "id": o.cls, "subject": o.subject, "period": o.q1}
    stats = [{"period_id": other_period}] + [{"class_id": pk} for pk in classes] \
        + [{"student_id": pk} for pk in students] + [{"subject_id": other_subject}, {"teacher_id": p.pk(Staff)}]
    extract = {"period_id": o.q1, "sections": "timetable"}
    control = [{"period_id": other_period}] + [{"class_id": pk} for pk in classes] \
        + [{"subject_id": other_subject}, {"teacher_id": p.pk(Staff)}]
    return {
        "JournalView.grid": journal_like("/journal/grid"),
        "JournalView.save_cell": [
            ui("POST", "/journal/cell", body=body, answer=WRITE) for c in cells
            for body in ({**c, "kind": "mark", "work_type_id": o.answer, "value": 5}, {**c, "kind": "attendance",
                                                                                     "code": "Н"})
        ] + [ui("POST", "/journal/cell", body={**cell, "kind": "mark", "work_type_id": p.pk(WorkType), "value": 5},
                answer=WRITE)],
        "FinalsView.sheet": journal_like("/finals/sheet"),
        "FinalsView.save": [ui("POST", "/finals/save", {**finals_form, "id": pk, f"value_{o.student}": "5"})
                            for pk in classes]
        + [ui("POST", "/finals/save", {**finals_form, f"value_{pk}": "5"}) for pk in students]
        + [ui("POST", "/finals/save", {**finals_form, "period": other_period, f"value_{o.student}": "5"})],
        "FinalsView.propose": [ui("POST", "/finals/propose", {**finals_form, "id": pk}) for pk in classes]
        + [ui("POST", "/finals/propose", {**finals_form, "period": other_period})],
        "FinalsView.defer": [ui("POST", "/finals/defer", {**finals_form, "student": pk, "reason": WRITE_TEXT,
                                                          "deadline": "2026-12-20"}) for pk in students]
        + [ui("POST", "/finals/defer", {**finals_form, "id": pk, "student": o.student, "reason": WRITE_TEXT,
                                        "deadline": "2026-12-20"}) for pk in classes],
        "FinalsView.summary": [ui("GET", _url("/finals/summary", class_id=pk)) for pk in classes],
        "FinalsView.summary_pdf": [ui("GET", _url("/finals/summary.pdf", class_id=pk)) for pk in classes],
        "PeriodCloseView.index": [ui("GET", _url("/finals/close/", period=other_period))],
        # Both pages take the class in the path (attacked with the path rules) and a period: a foreign
        # period is ignored (the whole year of the own class is shown).
        "ClassPagesView.control_works": [ui("GET", _url(f"/class/{o.cls}/control-works", period=other_period),
                                            answer=PAGE)],
        "ConsentPagesView.status": [ui("GET", _url("/consent/status", class_id=pk), answer=PAGE) for pk in classes],
        "TimetableWeekView.week": [ui("GET", _url("/timetable/week", **{"class": pk})) for pk in classes]
        + [ui("GET", _url("/timetable/week", teacher=p.pk(Staff)))],
        "TimetableWeekView.pdf": [ui("GET", _url("/timetable/pdf", **{"class": pk})) for pk in classes]
        + [ui("GET", _url("/timetable/pdf", teacher=p.pk(Staff)))],
        "ConsentPagesView.paper": [ui("GET", _url("/consent/paper", class_id=pk)) for pk in classes],
        # The forms' pickers: a search by a hidden family's surname finds nobody of theirs (200), a hidden
        # student's representatives are refused.
        "ConsentPagesView.students": [ui("GET", _url("/consent/students", q=name), answer=PAGE)
                                      for name in ("Соседкин", "Чужаков", "С", "Ч")],
        "ConsentPagesView.guardians": [ui("GET", _url("/consent/guardians", student_id=pk)) for pk in students],
        "AuditExportView.export_csv": [ui("GET", _url("/audit/export.csv", username="teacher_other")),
                                       ui("GET", _url("/audit/export.csv", entity="Mark"))],
        # The forecast pages choose among the user's own journals and classes: a foreign one is not
        # among them, so the page says so (or shows the user's own class) with 200.
        "ForecastView.index": [ui("GET", _url("/forecast/", target=key, id=pk, subject=o.subject), answer=PAGE)
                               for key, pk in foreign_targets],
        "ForecastView.class_page": [ui("GET", _url("/forecast/class", class_id=pk), answer=PAGE) for pk in classes],
        "ForecastView.risk": [ui("GET", _url("/forecast/risk", class_id=pk), answer=PAGE) for pk in classes],
        # The control reports read the user's own journals: a foreign class, subject or teacher of the school
        # shows nothing of theirs (200), another school's period or class is refused.
        **{f"ControlView.{name}": [ui("GET", _url(f"/control/{name}/", **c), answer=PAGE) for c in control]
           for name in ("accumulation", "timeliness", "finals", "attendance")},
        "ControlView.csv": [ui("GET", _url("/control/export.csv", report=name, **c), answer=PAGE) for c in control
                            for name in ("accumulation", "timeliness", "finals", "attendance")],
        # (a PDF is no text to search for markers: only the refused requests; the CSV shows the same tables)
        "ControlView.pdf": [ui("GET", _url("/control/export.pdf", report="attendance", period_id=other_period))],
        # The school's staff build their own school's next year: another school asked for is not read.
        "NewYearView.index": [ui("GET", _url("/newyear/", school=p.pk(School)), answer=PAGE)],
        "StatsView.index": [ui("GET", _url("/stats/", **s)) for s in stats],
        "StatsView.export": [ui("GET", _url("/stats/export.csv", table="students", **s)) for s in stats],
        "ExtractsView.print_pdf": [ui("POST", "/extracts/print", {**extract, "target": "student", "student_id": pk})
                                   for pk in students]
        + [ui("POST", "/extracts/print", {**extract, "target": "class", "class_id": pk}) for pk in classes]
        + [ui("POST", "/extracts/print", {**extract, "target": "student", "student_id": o.student,
                                          "period_id": other_period})],
        # Verification answers «no such extract in your school» (200) for another school's number.
        "ExtractVerifyView.index": [ui("POST", "/extracts/verify/", {"number": number, "file": (b"%PDF-1.4", "x.pdf")},
                                       answer=PAGE)
                                    for number in ("Э-5b-0001", "Э-sb-0001")],
        "RosterView.upload": [ui("POST", "/roster/upload", {"year_id": p.pk(AcademicYear), "dry_run": "1",
                                                            "file": (b"\xef\xbb\xbf", "roster.csv")})],
        "JournalApi.get": [api(_url("/api/v1/journal/", **{key: pk}, subject_id=o.subject, period_id=o.q2))
                           for key, pk in foreign_targets]
        + [api(_url("/api/v1/journal/", class_id=o.cls, subject_id=other_subject, period_id=o.q2)),
           api(_url("/api/v1/journal/", class_id=o.cls, subject_id=o.subject, period_id=other_period))],
        "ForecastApi.get": [api(_url("/api/v1/forecast/", **{key: pk})) for key, pk in foreign_targets]
        + [api(_url("/api/v1/forecast/", class_id=o.cls, subject_id=other_subject)),
           api(_url("/api/v1/forecast/", class_id=o.cls, period_id=other_period))],
        "StatsApi.get_results": [api(_url("/api/v1/stats/results", **s)) for s in stats if "student_id" not in s],
        "StatsApi.get_curriculum": [api(_url("/api/v1/stats/curriculum", **s)) for s in stats
                                    if "student_id" not in s],
    }


def _endpoints_of_our_pages(app) -> list[str]:
    """Endpoints of our views and APIs other than the model views' and entity APIs' generic ones."""
    ours = {v.endpoint: v for v in app.appbuilder.baseviews if is_ours(v)}
    out = []
    for rule in app.url_map.iter_rules():
        blueprint, _, method = rule.endpoint.partition(".")
        view = ours.get(blueprint)
        if view is None:
            continue
        if isinstance(view, (ModelView, ModelRestApi)) and (
                method in MODEL_QUERY_METHODS or method in MODEL_NO_ID_METHODS or "pk" in rule.arguments):
            continue
        out.append(rule.endpoint)
    return sorted(set(out))


# --- checking answers ----------------------------------------------------------------------------


def _text(response) -> str:
    if response.is_json:
        return json.dumps(response.get_json(silent=True), ensure_ascii=False)
    return html.unescape(response.get_data(as_text=True))


def _leaks(text: str) -> list[str]:
    return [m for m in MARKERS if m in text]


def judge(attempt: Attempt, client, headers) -> str | None:
    """None when the answer is fine, otherwise what is wrong with it."""
    try:
        response = attempt.send(client, headers)
    except Exception as err:
        return f"raises {type(err).__name__}: {err} (a 500 outside tests)"
    status, text = response.status_code, _text(response)
    if status >= 500:
        return f"{status} (server error)"
    if _leaks(text):
        return f"{status} shows {_leaks(text)}"
    if status in (301, 302, 303, 307, 308):
        target = urljoin(f"http://localhost{attempt.url}", response.headers.get("Location", ""))
        if urlsplit(target).netloc not in ("localhost", ""):
            return f"{status} redirects off the site to {target}"
        landing = client.get(target, headers=headers if attempt.api else None)
        if landing.status_code >= 500 or _leaks(_text(landing)):
            return f"{status} → {target}: {landing.status_code} {_leaks(_text(landing))}"
        return None
    if status in (400, 403, 404):
        return None
    if status == 422 and attempt.answer == WRITE:
        return None
    if status == 200 and attempt.answer == WRITE and not attempt.api:
        return None  # the add form shown again with the field's error (the snapshot proves nothing saved)
    if status == 200 and attempt.answer == PAGE:
        return None
    if status == 200 and attempt.answer == LIST:
        if attempt.api:
            count = (response.get_json(silent=True) or {}).get("count")
            return None if count == 0 else f"200 lists {count} rows"
        route = attempt.url.split("/list/")[0]
        shown = listed_pks(response.get_data(as_text=True), route)
        return None if not shown else f"200 lists rows {sorted(shown)}"
    return f"{status} (expected a refusal)"


# --- the tests -----------------------------------------------------------------------------------


def test_every_id_taking_route_is_covered(app):
    """Every id argument is filled, every page of ours is attacked or allow-listed, every model of
    a route has foreign rows planted, every write the teachers may make has a plausible body."""
    problems = list(path_plan(app)[1])
    fake = Planted({m: [(OTHER_CLASS, 1), (OTHER_SCHOOL, 2)] for m in IN_OTHER_SCHOOL},
                   SimpleNamespace(**{k: 1 for k in ("school", "cls", "student", "staff", "subject", "assignment",
                                                     "lesson", "slot", "year", "work_type", "answer", "q1", "q2")}))
    pages = query_pages(fake)
    for endpoint in _endpoints_of_our_pages(app):
        has_path_id = any(r.endpoint == endpoint and set(r.arguments) & set(PATH_ARGUMENT_MODELS)
                          for r in app.url_map.iter_rules())
        if endpoint not in pages and endpoint not in NO_ID_PAGES and not has_path_id:
            problems.append(f"{endpoint}: neither attacked in QUERY_PAGES nor listed in NO_ID_PAGES")
    problems += [f"QUERY_PAGES[{e}]: no such endpoint" for e in pages if e not in app.view_functions]
    problems += [f"NO_ID_PAGES[{e}]: no such endpoint" for e in NO_ID_PAGES if e not in app.view_functions]
    # The scope's rules and this file agree on what is shared by the school and what follows classes.
    if set(SHARED_IN_SCHOOL) - {School} != set(SCHOOL_WIDE):
        problems.append(f"SHARED_IN_SCHOOL {sorted(m.__name__ for m in SHARED_IN_SCHOOL)} is not the scope's "
                        f"SCHOOL_WIDE {sorted(m.__name__ for m in SCHOOL_WIDE)} + School")
    problems += [f"{m.__name__} has a teacher rule but no row in 5Б" for m in _TEACHER_RULES if m not in IN_OTHER_CLASS]
    for view in model_views(app):
        model = view.datamodel.obj
        if model not in IN_OTHER_SCHOOL:
            problems.append(f"{type(view).__name__}: no foreign {model.__name__} is planted")
        api = isinstance(view, ModelRestApi)
        if not _has(app, view, "post" if api else "add"):
            continue
        grants = granted({ROLE_TEACHER, ROLE_CLASS_TEACHER})
        if may(grants, CAN_WRITE, view.class_permission_name) and model not in (API_ADD if api else UI_ADD):
            problems.append(f"{type(view).__name__}: teachers may add {model.__name__}: give it a body with own ids "
                            f"in {'API_ADD' if api else 'UI_ADD'}")
    assert not problems, "\n".join(problems)
    assert len(path_plan(app)[0]) > 150, "the enumeration lost routes"


def test_foreign_ids_show_nothing_and_change_nothing(app, planted, login_as, api_token):
    """Every id-taking route, page and body, as `teacher` and as `classteacher`, with the ids of 5Б
    and of school B: refused, no marker in any answer, no school table changed."""
    attempts = path_attempts(app, planted) + model_query_attempts(app, planted) \
        + [a for page in query_pages(planted).values() for a in page]
    api_client = app.test_client()
    before = snapshot()
    wrong, counts = [], {}
    for username in USERS:
        ui, headers = login_as(username), bearer(api_token(username))
        for attempt in attempts:
            problem = judge(attempt, api_client if attempt.api else ui, headers)
            if problem:
                wrong.append(f"{username}: {attempt.http} {attempt.url} {problem}")
        counts[username] = len(attempts)
    changed = changed_tables(before, snapshot())
    report = "\n".join(wrong[:200]) + (f"\n… and {len(wrong) - 200} more" if len(wrong) > 200 else "")
    assert not wrong, f"{len(wrong)} of {sum(counts.values())} attempts answered wrongly:\n{report}"
    assert changed == [], f"tables changed: {changed}"
    assert len(attempts) > 600, "the attack lost attempts"


@pytest.mark.usefixtures("finals_without_marks")
def test_own_ids_pass(app, planted, login_as, api_token):
    """The controls: the same pages and bodies with `teacher`'s own ids are accepted, so the
    refusals above are about the foreign ids; and 5Б's own teacher is shown the planted markers, so
    the marker check would see a leak."""
    o = planted.own
    ui, headers, api = login_as("teacher"), bearer(api_token("teacher")), app.test_client()
    pages = [
        (ui.get(f"/lessonview/show/{o.lesson}"), "СВОЁ-тема"),
        (api.get(f"/api/v1/lesson/{o.lesson}", headers=headers), "СВОЁ-тема"),
        (ui.get(_url("/journal/grid", target="class_id", id=o.cls, subject=o.subject, period=o.q2)), "Алексеев"),
        (ui.get(_url("/finals/sheet", target="class_id", id=o.cls, subject=o.subject, period=o.q1)), "Алексеев"),
        (ui.get(_url("/forecast/", target="class_id", id=o.cls, subject=o.subject)), "Алексеев"),
        (api.get(_url("/api/v1/journal/", class_id=o.cls, subject_id=o.subject, period_id=o.q2), headers=headers),
         "Алексеев"),
        (api.get(_url("/api/v1/forecast/", class_id=o.cls), headers=headers), "Алексеев"),
        (ui.get(f"/class/{o.cls}/changes"), "5А"),
        (ui.get(f"/studentview/show/{o.student}"), "Алексеев"),
    ]
    wrong = [f"{r.request.path}: {r.status_code}" for r, text in pages
             if r.status_code != 200 or text not in _text(r)]
    writes = [ui.post(f"{base}/add", data=UI_ADD[model](o)) for base, model in (
        ("/lessonview", Lesson), ("/controlworkplanview", ControlWorkPlan), ("/recommendationview", Recommendation))]
    wrong += [f"UI add {r.request.path}: {r.status_code}" for r in writes if r.status_code != 302]
    for name, model in (("lesson", Lesson), ("recommendation", Recommendation), ("mark", Mark),
                        ("attendance", Attendance), ("finalgrade", FinalGrade)):
        response = api.post(f"/api/v1/{name}/", json=API_ADD[model](o), headers=headers)
        if response.status_code not in (200, 201):
            wrong.append(f"API post {name}: {response.status_code} {response.get_json()}")
    db.session.expire_all()
    seen = [[m.id, m.version] for m in db.session.scalars(  # the cell as the grid shows it: its mark is replaced
        select(Mark).where(Mark.lesson_id == o.lesson, Mark.student_id == o.student))]
    response = ui.post("/journal/cell", json={"lesson_id": o.lesson, "student_id": o.student, "period_id": o.q2,
                                              "kind": "mark", "work_type_id": o.answer, "value": 5, "seen": seen})
    if response.status_code != 200:
        wrong.append(f"/journal/cell: {response.status_code} {response.get_json()}")
    response = ui.post(f"/journal/lesson/{o.lesson}", json={"topic": "Дроби", "homework": "№ 5"})
    if response.status_code != 200:
        wrong.append(f"/journal/lesson: {response.status_code}")
    # The planted rows are real and their markers are shown: 5Б's teacher sees them.
    other, other_api = login_as("teacher_b"), bearer(api_token("teacher_b"))
    for response in (other.get(f"/lessonview/show/{planted.pk(Lesson, OTHER_CLASS)}"),
                     other.get(f"/recommendationview/show/{planted.pk(Recommendation, OTHER_CLASS)}"),
                     api.get(f"/api/v1/mark/{planted.pk(Mark, OTHER_CLASS)}", headers=other_api),
                     other.get(_url("/journal/grid", target="class_id", id=planted.pk(ClassUnit, OTHER_CLASS),
                                    subject=o.subject, period=o.q2))):
        if response.status_code != 200 or not _leaks(_text(response)):
            wrong.append(f"teacher_b {response.request.path}: {response.status_code}, no marker")
    assert not wrong, "\n".join(wrong)


# --- the scope of pages: another subject of an own class, a class teacher's other classes ------------

RU_MARKER = "СЕКРЕТ-РЯ"


def _scoped_journals(world, planted: Planted) -> SimpleNamespace:
    """Russian in 5А by `teacher_b` (a lesson, Алексеев's mark and attendance, a final with markers), and
    music in 5Б taught by `classteacher`, so 5Б is among the classes the class teacher of 5А teaches."""
    ru = Subject(school=world.school_a, name="Русский язык", short_name="Рус")
    music = Subject(school=world.school_a, name="Музыка", short_name="Муз")
    ru_5a = TeachingAssignment(school=world.school_a, year=world.year_a, teacher=world.staff["teacher_b"],
                               subject=ru, class_unit=world.classes["5А"], weekly_hours=4)
    music_5b = TeachingAssignment(school=world.school_a, year=world.year_a, teacher=world.staff["classteacher"],
                                  subject=music, class_unit=world.classes["5Б"], weekly_hours=1)
    slot = db.session.scalar(select(BellSlot).where(BellSlot.school_id == world.school_a.id))
    lesson = Lesson(school=world.school_a, assignment=ru_5a, date=HTTP_TODAY - dt.timedelta(days=1), bell_slot=slot,
                    teacher=world.staff["teacher_b"], topic=f"{RU_MARKER}-тема")
    kid = world.students["Алексеев"]
    mark = Mark(school=world.school_a, lesson=lesson, student=kid, work_type_id=planted.own.work_type, value=2,
                comment=f"{RU_MARKER}-отметка", author="teacher_b")
    absence = Attendance(school=world.school_a, lesson=lesson, student=world.students["Борисов"],
                         code=AttendanceCode.late, author=f"{RU_MARKER}-автор")
    final = FinalGrade(school=world.school_a, student=kid, subject=ru, period=period_of(world.year_a, 1),
                       status=FinalStatus.deferred, deferral_reason=f"{RU_MARKER}-отсрочка")
    with acting_as("teacher_b"):
        db.session.add_all([ru, music, ru_5a, music_5b, lesson, mark, absence, final])
        db.session.commit()
    return SimpleNamespace(ru=ru.id, lesson=lesson.id, mark=mark.id, absence=absence.id, final=final.id)


def test_query_parameters_of_another_subject_or_class_show_nothing(app, world, planted, login_as, api_token):
    """A teacher of 5А's mathematics asks for 5А's Russian, a class teacher of 5А who teaches music in
    5Б asks for 5Б's mathematics and consents, through the query strings, forms and bodies of every
    custom page and JSON endpoint: refused or empty, never the rows; nothing changes. The controls
    show the same requests answered where the journal is the user's."""
    o, extra = planted.own, _scoped_journals(world, planted)
    five_b, q1, q2 = planted.pk(ClassUnit, OTHER_CLASS), o.q1, o.q2
    ru = {"target": "class_id", "id": o.cls, "subject": extra.ru}
    b_math = {"target": "class_id", "id": five_b, "subject": o.subject}
    b_markers = ("СЕКРЕТ-5Б-отметка", "СЕКРЕТ-5Б-отсрочка", "СЕКРЕТ-5Б-основание", "СЕКРЕТ-5Б-автор", "Соседкин",
                 "Васильев")
    attacks = {
        "teacher": ((RU_MARKER, "Русский язык"), [
            ("GET", _url("/journal/grid", **ru, period=q2), None),
            ("GET", _url("/finals/sheet", **ru, period=q1), None),
            ("API", _url("/api/v1/journal/", class_id=o.cls, subject_id=extra.ru, period_id=q2), None),
            ("POST", "/finals/save", {**ru, "period": q1, f"value_{o.student}": "5", f"reason_{o.student}": "x"}),
            ("POST", "/finals/propose", {**ru, "period": q1}),
            ("JSON", "/journal/cell", {"lesson_id": extra.lesson, "student_id": o.student, "period_id": q2,
                                       "kind": "mark", "work_type_id": o.answer, "value": 5}),
            ("JSON", f"/journal/lesson/{extra.lesson}", {"topic": WRITE_TEXT}),
            ("API", _url("/api/v1/forecast/", class_id=o.cls, subject_id=extra.ru), None),
            ("GET", _url("/forecast/", **ru), None),
            ("GET", "/journal/", None), ("GET", "/finals/", None),
            ("API", "/api/v1/mark/?q=(page_size:100)", None), ("API", "/api/v1/attendance/?q=(page_size:100)", None),
            ("API", f"/api/v1/mark/{extra.mark}", None), ("API", f"/api/v1/finalgrade/{extra.final}", None),
        ]),
        "classteacher": (b_markers, [
            ("GET", _url("/consent/status", class_id=five_b), None),
            ("GET", _url("/consent/paper", class_id=five_b), None),
            ("GET", "/consent/paper", None),
            ("GET", _url("/journal/grid", **b_math, period=q2), None),
            ("GET", _url("/finals/sheet", **b_math, period=q1), None),
            ("API", _url("/api/v1/journal/", class_id=five_b, subject_id=o.subject, period_id=q2), None),
            ("POST", "/finals/save", {**b_math, "period": q1, f"value_{o.student}": "5"}),
            ("API", _url("/api/v1/forecast/", class_id=five_b, subject_id=o.subject), None),
            ("GET", _url("/finals/summary", class_id=five_b), None),
            ("API", "/api/v1/mark/?q=(page_size:100)", None), ("API", "/api/v1/attendance/?q=(page_size:100)", None),
            ("API", "/api/v1/finalgrade/?q=(page_size:100)", None),
        ]),
    }
    before, wrong = snapshot(), []
    for username, (markers, requests) in attacks.items():
        ui, headers = login_as(username), bearer(api_token(username))
        for kind, url, body in requests:
            if kind == "API":
                response = app.test_client().get(url, headers=headers)
            elif kind == "JSON":
                response = ui.post(url, json=body)
            else:
                response = ui.open(url, method=kind, data=body, follow_redirects=True)
            text = _text(response)
            shown = [m for m in markers if m in text]
            if response.status_code >= 500 or shown:
                wrong.append(f"{username} {kind} {url}: {response.status_code} shows {shown}")
    changed = changed_tables(before, snapshot())
    assert not wrong, "\n".join(wrong)
    assert changed == [], f"tables changed: {changed}"

    # The controls: the journal's own teacher and the class teacher of 5А read 5А's Russian.
    for username in ("teacher_b", "classteacher"):
        ui, headers = login_as(username), bearer(api_token(username))
        for response in (ui.get(_url("/journal/grid", **ru, period=q2)), ui.get(_url("/finals/sheet", **ru, period=q1)),
                         app.test_client().get(f"/api/v1/mark/{extra.mark}", headers=headers),
                         app.test_client().get(_url("/api/v1/journal/", class_id=o.cls, subject_id=extra.ru,
                                                    period_id=q2), headers=headers)):
            assert response.status_code == 200 and RU_MARKER in _text(response), (username, response.request.path)
    consent = login_as("classteacher").get(_url("/consent/status", class_id=o.cls))
    assert consent.status_code == 200 and "Алексеев" in _text(consent)
