"""Every rule of the school's structure (app/services/structure.py) refuses bad input with a clear
message and saves nothing, by each of the three ways in: the service guard, the UI add form and
the REST API.

Messages are English msgids translated by Babel; the expected text is rendered from the same
catalogue in the locale of the path (English for the service call made under
`force_locale("en")`, Russian for the UI and the API), so the assertions hold whether or not a
msgid is translated yet, and compare the whole message with its dates and names filled in.
"""
import datetime as dt
import enum
import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from flask import g
from flask_babel import force_locale, gettext
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    BellSlot,
    ClassUnit,
    CurriculumItem,
    Enrolment,
    Holiday,
    PeriodKind,
    ReportingPeriod,
    Student,
    StudyGroup,
    TeachingAssignment,
    WorkType,
)
from app.security.guard import guarded
from app.security.scope import scope_for_user
from app.services import structure
from app.services.errors import RuleViolation
from tests.factories import World
from tests.journal_helpers import count

D = dt.date

# ---------------------------------------------------------------- helpers


def render(locale: str, msgid: str, kwargs: dict) -> str:
    """The message as the app would show it in that locale."""
    with force_locale(locale):
        return gettext(msgid, **kwargs)


def _form_value(value) -> str:
    if hasattr(value, "id"):
        return str(value.id)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return str(value)


def _json_value(value):
    if hasattr(value, "id"):
        return value.id
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, Decimal):
        return float(value)
    return value


def form_data(fields: dict) -> dict:
    """Relations as the related id, dates as ISO, empty fields left out."""
    return {k: _form_value(v) for k, v in fields.items() if v is not None}


def json_data(fields: dict) -> dict:
    return {k: _json_value(v) for k, v in fields.items() if v is not None}


def flashed_page(response) -> str:
    assert response.status_code == 200, response.status_code
    return html.unescape(response.get_data(as_text=True))


def api_post(app, endpoint: str, data: dict, token: str | None):
    """POST to the REST API from a client without a browser session, signed in by the JWT only.

    The app fixture keeps one app context for the whole test, so `g` outlives a request: the user
    (and scope) cached there by an earlier request of the test is forgotten first."""
    for key in ("school_scope", "_login_user", "user"):
        g.pop(key, None)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return app.test_client().post(f"/api/v1/{endpoint}/", json=data, headers=headers)


@pytest.fixture
def director_scope(world):
    return scope_for_user(world.staff["director"].user)


# ---------------------------------------------------------------- the cases


@dataclass
class Case:
    """One broken rule: the model, its view/API name, the fields (objects, built from the world,
    with extra committed rows where needed) and the expected message (msgid, kwargs)."""

    id: str
    model: type
    endpoint: str
    fields: Callable[[World], dict]
    message: Callable[[World], tuple[str, dict]]
    also_unchanged: tuple = field(default_factory=tuple)


def _trimester(w: World) -> ReportingPeriod:
    period = ReportingPeriod(school=w.school_a, year=w.year_a, kind=PeriodKind.trimester, number=1,
                             start=D(2026, 9, 1), end=D(2026, 11, 30))
    db.session.add(period)
    db.session.commit()
    return period


def _old_year(w: World) -> AcademicYear:
    year = AcademicYear(school=w.school_a, name="2025/2026", start=D(2025, 9, 1), end=D(2026, 8, 31))
    db.session.add(year)
    db.session.commit()
    return year


def _group(w: World) -> StudyGroup:
    group = StudyGroup(school=w.school_a, class_unit=w.classes["5А"], name="1 группа", subject=w.subjects["math"])
    db.session.add(group)
    db.session.commit()
    return group


def _quarter(w: World, number: int) -> ReportingPeriod:
    return db.session.scalar(select(ReportingPeriod).where(
        ReportingPeriod.year_id == w.year_a.id, ReportingPeriod.kind == PeriodKind.quarter,
        ReportingPeriod.number == number))


END_BEFORE_START = "The end date %(end)s is before the start date %(start)s."
OUTSIDE_YEAR = "%(day)s is outside the academic year %(year)s (%(start)s – %(end)s)."
GRADE = "The grade must be from 1 to 11."
ONE_TARGET = "Choose exactly one target: a class, a group, a stream or an individual plan."
CLOCK = "Write the time as HH:MM, e.g. 08:30."
WEIGHT = "The weight must be from 1 to 10."
YEAR_A = {"year": "2026/2027", "start": "01.09.2026", "end": "31.08.2027"}


def _period(w, **kw):
    return {"school": w.school_a, "year": w.year_a, "kind": PeriodKind.trimester, "number": 1, **kw}


def _holiday(w, **kw):
    return {"school": w.school_a, "year": w.year_a, "name": "Дополнительные каникулы", **kw}


def _class(w, **kw):
    return {"school": w.school_a, "year": w.year_a, "period_kind": PeriodKind.quarter, **kw}


def _student(w, **kw):
    return {"school": w.school_a, "surname": "Новиков", "name": "Пётр", "patronymic": "Ильич",
            "class_unit": w.classes["5А"], **kw}


def _assignment(w, **kw):
    return {"school": w.school_a, "year": w.year_a, "teacher": w.staff["teacher"], "subject": w.subjects["math"],
            "weekly_hours": 2, **kw}


def _bell(w, **kw):
    return {"school": w.school_a, "number": 2, **kw}


CASES = [
    Case("period_end_before_start", ReportingPeriod, "reportingperiod",
         lambda w: _period(w, start=D(2026, 10, 10), end=D(2026, 10, 1)),
         lambda w: (END_BEFORE_START, {"end": "01.10.2026", "start": "10.10.2026"})),
    Case("period_outside_year", ReportingPeriod, "reportingperiod",
         lambda w: _period(w, start=D(2026, 8, 1), end=D(2026, 11, 30)),
         lambda w: (OUTSIDE_YEAR, {"day": "01.08.2026", **YEAR_A})),
    Case("period_overlaps_same_scheme", ReportingPeriod, "reportingperiod",
         lambda w: _period(w, kind=PeriodKind.quarter, number=4, start=D(2026, 10, 20), end=D(2026, 10, 31)),
         lambda w: ("The period overlaps «%(other)s» (%(start)s – %(end)s).",
                    {"other": _quarter(w, 1), "start": "01.09.2026", "end": "25.10.2026"})),
    Case("holiday_outside_year", Holiday, "holiday",
         lambda w: _holiday(w, start=D(2027, 9, 5), end=D(2027, 9, 10)),
         lambda w: (OUTSIDE_YEAR, {"day": "05.09.2027", **YEAR_A})),
    Case("holiday_grade_12", Holiday, "holiday",
         lambda w: _holiday(w, start=D(2027, 2, 16), end=D(2027, 2, 22), grade=12),
         lambda w: (GRADE, {})),
    Case("class_grade_12", ClassUnit, "classunit", lambda w: _class(w, grade=12, letter="А"),
         lambda w: (GRADE, {})),
    Case("class_letter_digit", ClassUnit, "classunit", lambda w: _class(w, grade=6, letter="5"),
         lambda w: ("The class letter must be a letter, e.g. «А».", {})),
    Case("class_name_taken_in_year", ClassUnit, "classunit", lambda w: _class(w, grade=5, letter="а"),
         lambda w: ("Class %(name)s already exists in %(year)s.", {"name": "5А", "year": "2026/2027"})),
    Case("student_one_year_old", Student, "student",
         lambda w: _student(w, birth_date=D(2025, 1, 1), enrolled_on=D(2026, 9, 1)),
         lambda w: ("A student enrolled on %(day)s born on %(born)s would be %(age)d years old.",
                    {"day": "01.09.2026", "born": "01.01.2025", "age": 1}),
         also_unchanged=(Enrolment,)),
    Case("student_left_before_enrolled", Student, "student",
         lambda w: _student(w, birth_date=D(2015, 3, 15), enrolled_on=D(2026, 9, 1), left_on=D(2026, 8, 1)),
         lambda w: (END_BEFORE_START, {"end": "01.08.2026", "start": "01.09.2026"}),
         also_unchanged=(Enrolment,)),
    Case("enrolment_overlaps_other_class", Enrolment, "enrolment",
         lambda w: {"school": w.school_a, "student": w.students["Алексеев"], "class_unit": w.classes["5Б"],
                    "start": D(2026, 10, 1)},
         lambda w: ("%(student)s is already in class %(cls)s from %(start)s: a student is in one class at a time.",
                    {"student": "Алексеев Иван Иванович", "cls": "5А", "start": "01.09.2026"})),
    Case("assignment_without_target", TeachingAssignment, "teachingassignment",
         lambda w: _assignment(w), lambda w: (ONE_TARGET, {})),
    Case("assignment_with_two_targets", TeachingAssignment, "teachingassignment",
         lambda w: _assignment(w, class_unit=w.classes["5А"], group=_group(w)), lambda w: (ONE_TARGET, {})),
    Case("assignment_target_of_other_year", TeachingAssignment, "teachingassignment",
         lambda w: _assignment(w, year=_old_year(w), class_unit=w.classes["5А"]),
         lambda w: ("«%(target)s» is not of the academic year %(year)s.", {"target": "5А", "year": "2025/2026"})),
    Case("work_type_weight_11", WorkType, "worktype",
         lambda w: {"school": w.school_a, "name": "Зачёт", "weight": 11}, lambda w: (WEIGHT, {})),
    Case("bell_start_without_leading_zero", BellSlot, "bellslot",
         lambda w: _bell(w, start_time="9:25", end_time="10:10"), lambda w: (CLOCK, {})),
    Case("bell_end_before_start", BellSlot, "bellslot",
         lambda w: _bell(w, start_time="10:10", end_time="09:25"),
         lambda w: ("The lesson must end after it starts.", {})),
    Case("curriculum_period_of_other_scheme", CurriculumItem, "curriculumitem",
         lambda w: {"school": w.school_a, "class_unit": w.classes["5А"], "subject": w.subjects["math"],
                    "period": _trimester(w), "weekly_hours": 3, "planned_hours": 30},
         lambda w: ("«%(period)s» is not a period of class %(cls)s.",
                    {"period": db.session.scalar(select(ReportingPeriod).where(
                        ReportingPeriod.kind == PeriodKind.trimester)), "cls": "5А"})),
]

# More values on the edges of the same rules, checked by the service guard only.
VARIANTS = [
    Case("holiday_end_before_start", Holiday, "holiday",
         lambda w: _holiday(w, start=D(2027, 2, 22), end=D(2027, 2, 16)),
         lambda w: (END_BEFORE_START, {"end": "16.02.2027", "start": "22.02.2027"})),
    Case("class_grade_0", ClassUnit, "classunit", lambda w: _class(w, grade=0, letter="А"),
         lambda w: (GRADE, {})),
    Case("work_type_weight_0", WorkType, "worktype",
         lambda w: {"school": w.school_a, "name": "Зачёт", "weight": 0}, lambda w: (WEIGHT, {})),
    Case("bell_end_hour_24", BellSlot, "bellslot",
         lambda w: _bell(w, start_time="09:25", end_time="24:10"), lambda w: (CLOCK, {})),
    Case("student_twenty_five_years_old", Student, "student",
         lambda w: _student(w, birth_date=D(2001, 3, 15), enrolled_on=D(2026, 9, 1)),
         lambda w: ("A student enrolled on %(day)s born on %(born)s would be %(age)d years old.",
                    {"day": "01.09.2026", "born": "15.03.2001", "age": 25}),
         also_unchanged=(Enrolment,)),
    Case("class_letter_too_long", ClassUnit, "classunit", lambda w: _class(w, grade=6, letter="АБВГД"),
         lambda w: ("The class letter must be a letter, e.g. «А».", {})),
    Case("bell_minute_60", BellSlot, "bellslot",
         lambda w: _bell(w, start_time="08:60", end_time="09:45"), lambda w: (CLOCK, {})),
]


# ---------------------------------------------------------------- one test per rule, three paths


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_rule_refuses_bad_input_everywhere(case, app, world, director_scope, login_as, api_token):
    fields = case.fields(world)
    msgid, kwargs = case.message(world)
    expected_en, expected_ru = render("en", msgid, kwargs), render("ru", msgid, kwargs)
    form, payload = form_data(fields), json_data(fields)
    tables = (case.model, *case.also_unchanged)
    before = {m: count(m) for m in tables}

    # 1. The service guard, as the views and APIs call it (the English message: str(err)).
    item = case.model(**fields)
    db.session.add(item)
    with force_locale("en"), pytest.raises(RuleViolation) as err:
        guarded(item, director_scope)
    assert str(err.value) == expected_en
    db.session.remove()  # each request of the app has a session of its own; so does each path here
    assert {m: count(m) for m in tables} == before, "service: a row was saved"

    # 2. The UI add form, as the director: back to a page that shows the error.
    client = login_as("director")
    page = flashed_page(client.post(f"/{case.endpoint}view/add", data=form, follow_redirects=True))
    assert expected_ru in page, f"form: «{expected_ru}» not shown"
    assert "alert-danger" in page
    db.session.remove()
    assert {m: count(m) for m in tables} == before, "form: a row was saved"

    # 3. The REST API with the director's JWT: 422 with the message.
    response = api_post(app, case.endpoint, payload, api_token("director"))
    assert response.status_code == 422, response.json
    assert response.json["message"] == expected_ru
    db.session.remove()
    assert {m: count(m) for m in tables} == before, "API: a row was saved"


def test_edge_values_are_refused_by_the_service(world, director_scope):
    for case in VARIANTS:
        fields = case.fields(world)
        msgid, kwargs = case.message(world)
        tables = (case.model, *case.also_unchanged)
        before = {m: count(m) for m in tables}
        item = case.model(**fields)
        db.session.add(item)
        with force_locale("en"), pytest.raises(RuleViolation) as err:
            guarded(item, director_scope)
        assert str(err.value) == render("en", msgid, kwargs), case.id
        assert {m: count(m) for m in tables} == before, f"{case.id}: a row was saved"


# ---------------------------------------------------------------- a related row of another school

BELONGS_ELSEWHERE = "«%(obj)s» belongs to another school."
NOT_AVAILABLE = "«%(obj)s» is not available to you."


def _foreign_holiday(w: World) -> dict:
    """A holiday of school A put into school B's academic year."""
    return _holiday(w, year=w.year_b, start=D(2027, 2, 16), end=D(2027, 2, 22))


FOREIGN = {
    "holiday_in_other_school_year": (lambda w: Holiday(**_foreign_holiday(w)), lambda w: w.year_b),
    "class_teacher_of_other_school": (
        lambda w: ClassUnit(**_class(w, grade=6, letter="А", class_teacher=w.staff["teacher_other"])),
        lambda w: w.staff["teacher_other"]),
    "assignment_teacher_of_other_school": (
        lambda w: TeachingAssignment(**_assignment(w, teacher=w.staff["teacher_other"], class_unit=w.classes["5А"])),
        lambda w: w.staff["teacher_other"]),
    "assignment_class_of_other_school": (
        lambda w: TeachingAssignment(**_assignment(w, class_unit=w.classes["B5А"])), lambda w: w.classes["B5А"]),
}


def test_related_row_of_another_school_is_refused_by_the_rules(world, director_scope):
    for name, (build, obj) in FOREIGN.items():
        item = build(world)
        before = count(type(item))
        with force_locale("en"), pytest.raises(RuleViolation) as err:
            structure.validate(item)
        assert str(err.value) == render("en", BELONGS_ELSEWHERE, {"obj": obj(world)}), name
        # The director's guard stops it earlier: the other school's row is not even visible to them.
        db.session.add(item)
        with force_locale("en"), pytest.raises(RuleViolation) as err:
            guarded(item, director_scope)
        assert str(err.value) == render("en", NOT_AVAILABLE, {"obj": f"#{obj(world).id}"}), name
        assert count(type(item)) == before, name


def _options(page: str, name: str) -> set[str]:
    select_html = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.S)
    assert select_html, f"no select {name}"
    return set(re.findall(r'<option[^>]*value="(\d+)"', select_html.group(0)))


def test_related_row_of_another_school_as_director(app, world, login_as, api_token):
    before = count(Holiday)
    fields = _foreign_holiday(world)
    client = login_as("director")
    # The form offers only the director's school's years, and a forged id is not a valid choice.
    offered = _options(client.get("/holidayview/add").get_data(as_text=True), "year")
    assert offered == {str(world.year_a.id)}
    response = client.post("/holidayview/add", data=form_data(fields))
    assert response.status_code == 200  # the form comes back with the field error
    assert count(Holiday) == before
    response = api_post(app, "holiday", json_data(fields), api_token("director"))
    assert response.status_code == 422
    assert response.json["message"] == render("ru", NOT_AVAILABLE, {"obj": f"#{world.year_b.id}"})
    assert count(Holiday) == before


def test_related_row_of_another_school_as_deployment_admin(app, world, login_as, api_token):
    """The admin sees every school, so the same-school rule itself answers."""
    before = count(Holiday)
    fields = _foreign_holiday(world)
    expected = render("ru", BELONGS_ELSEWHERE, {"obj": world.year_b})
    client = login_as("admin")
    page = flashed_page(client.post("/holidayview/add", data=form_data(fields), follow_redirects=True))
    assert expected in page
    assert count(Holiday) == before
    response = api_post(app, "holiday", json_data(fields), api_token("admin"))
    assert response.status_code == 422
    assert response.json["message"] == expected
    assert count(Holiday) == before


# ---------------------------------------------------------------- the same paths accept good input


def test_valid_rows_are_saved_by_each_path(app, world, director_scope, login_as, api_token):
    """Controls for the refusals above: each path saves a good row (a trimester may overlap the
    quarters: the overlap rule is within one scheme)."""
    periods, holidays, bells = count(ReportingPeriod), count(Holiday), count(BellSlot)

    item = ReportingPeriod(**_period(world, start=D(2026, 9, 1), end=D(2026, 11, 30)))
    db.session.add(item)
    guarded(item, director_scope)
    db.session.commit()
    assert count(ReportingPeriod) == periods + 1

    client = login_as("director")
    fields = _holiday(world, start=D(2027, 2, 16), end=D(2027, 2, 22), grade=1)
    page = flashed_page(client.post("/holidayview/add", data=form_data(fields), follow_redirects=True))
    assert "alert-danger" not in page
    assert count(Holiday) == holidays + 1
    saved = db.session.scalar(select(Holiday).where(Holiday.name == "Дополнительные каникулы"))
    assert (saved.school_id, saved.year_id, saved.grade) == (world.school_a.id, world.year_a.id, 1)

    bell = json_data(_bell(world, start_time="09:25", end_time="10:10"))
    assert api_post(app, "bellslot", bell, None).status_code == 401  # the API path needs the JWT
    assert count(BellSlot) == bells
    response = api_post(app, "bellslot", bell, api_token("director"))
    assert response.status_code == 201, response.json
    assert count(BellSlot) == bells + 1
