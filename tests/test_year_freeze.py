"""Issue 18 p.2: once the next year is built, the old year is read-only on every path. The closed-quarter walk
of test_freeze_paths is replayed with the quarter open and the year closed instead, plus every write route of
the year's own rows (year, periods, holidays, classes, plans, assignments, timetable: pages, actions, REST) and
the CLI; each is refused naming the year and no table changes. The portal's receipt of a final still lands."""
import datetime as dt

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    ClassUnit,
    FinalGrade,
    Holiday,
    IndividualPlan,
    ReportingPeriod,
    TeachingAssignment,
    TimetableEntry,
)
from app.services.freeze_year import year_closed_message
from tests.freeze_helpers import WATCHED, write_routes
from tests.journal_helpers import bell_slot, math_of, message, staff_of
from tests.test_freeze_paths import OTHER_REFUSALS, _said, _text, attempts

pytestmark = pytest.mark.usefixtures("http_today")
YEAR_TABLES = ("academic_year", "reporting_period", "holiday", "class_unit", "teaching_assignment",
               "timetable_entry", "individual_plan", "promotion_decision")
YEAR_MODELS = (AcademicYear, ReportingPeriod, Holiday, ClassUnit, IndividualPlan, TeachingAssignment,
               TimetableEntry)


def snapshot() -> dict:
    """Every watched table as committed, read on a separate connection."""
    from flask_appbuilder import Model

    tables = {t.name: t for t in Model.metadata.sorted_tables}
    with db.engine.connect() as conn:
        return {name: [dict(r) for r in conn.execute(select(tables[name]).order_by(
            *tables[name].primary_key.columns)).mappings()] for name in (*WATCHED, *YEAR_TABLES)}


@pytest.fixture
def closed_year(world, frozen):
    """The world's year with a row of everything, its first quarter reopened and the year itself closed."""
    a = world.school_a
    holiday = db.session.scalar(select(Holiday).where(Holiday.year_id == world.year_a.id))
    plan = IndividualPlan(school=a, year=world.year_a, student=world.students["Борисов"],
                          subject=world.subjects["math"], reason="на дому")
    entry = TimetableEntry(school=a, assignment=math_of(world), weekday=2, bell_slot=bell_slot(world), room="7",
                           valid_from=world.year_a.start, valid_to=dt.date(2027, 5, 26))
    db.session.add_all([plan, entry])
    frozen.period.closed = False
    db.session.get(AcademicYear, world.year_a.id).closed = True
    db.session.commit()
    return {"holiday": holiday, "plan": plan, "entry": entry, "q2": db.session.scalar(select(ReportingPeriod).where(
        ReportingPeriod.year_id == world.year_a.id, ReportingPeriod.number == 2))}


def year_attempts(world, rows) -> list[tuple]:
    """(endpoint, method, url, form, json) of every write of the closed year's own rows."""
    a, y, math5b = world.school_a.id, world.year_a.id, math_of(world, "5Б")
    subject, teacher, b5 = world.subjects["math"].id, staff_of("teacher").id, world.classes["5Б"].id
    slot, entry, plan, holiday, q2 = bell_slot(world).id, rows["entry"], rows["plan"], rows["holiday"], rows["q2"]
    ui = {
        "ClassUnitView": ({"school": a, "year": y, "grade": 6, "letter": "В", "period_kind": "quarter"}, b5,
                          {"school": a, "year": y, "grade": 5, "letter": "Г", "period_kind": "trimester"}),
        "TeachingAssignmentView": ({"school": a, "year": y, "teacher": teacher, "subject": subject, "class_unit": b5,
                                    "weekly_hours": "2"}, math5b.id,
                                   {"school": a, "year": y, "teacher": teacher, "subject": subject, "class_unit": b5,
                                    "weekly_hours": "5"}),
        "TimetableEntryView": ({"assignment": math5b.id, "weekday": 3, "bell_slot": slot, "room": "5",
                                "valid_from": "2026-09-01", "valid_to": "2027-05-26"}, entry.id,
                               {"assignment": entry.assignment_id, "weekday": 2, "bell_slot": slot, "room": "9",
                                "valid_from": "2026-09-01", "valid_to": "2027-05-26"}),
        "ReportingPeriodView": ({"school": a, "year": y, "kind": "trimester", "number": 1, "start": "2026-09-01",
                                 "end": "2026-11-30"}, q2.id,
                                {"school": a, "year": y, "kind": "quarter", "number": 2, "start": "2026-11-03",
                                 "end": "2026-12-27"}),
        "HolidayView": ({"school": a, "year": y, "name": "Карантин", "start": "2027-02-01", "end": "2027-02-07"},
                        holiday.id, {"school": a, "year": y, "name": "Осенние каникулы", "start": "2026-10-26",
                                     "end": "2026-11-03"}),
        "IndividualPlanView": ({"school": a, "year": y, "student": world.students["Алексеев"].id, "subject": subject,
                                "reason": "на дому"}, plan.id,
                               {"school": a, "year": y, "student": plan.student_id, "subject": subject,
                                "reason": "другая"}),
        "AcademicYearView": (None, y, {"school": a, "name": "2026/2027", "start": "2026-09-01", "end": "2027-08-30"}),
    }
    out = []
    for view, (add, pk, edit) in ui.items():
        if add is not None:
            out.append((f"{view}.add", "POST", f"/{view.lower()}/add", add, None))
        out.append((f"{view}.edit", "POST", f"/{view.lower()}/edit/{pk}", edit, None))
        out.append((f"{view}.delete", "POST", f"/{view.lower()}/delete/{pk}", None, None))
    out += [("ClassUnitView.action", "POST", f"/classunitview/action/fill_curriculum/{b5}", None, None),
            ("TimetableEntryView.action", "POST", f"/timetableentryview/action/make_lessons/{entry.id}", None, None)]
    api = {"classunit": (b5, {"letter": "Г"}), "teachingassignment": (math5b.id, {"weekly_hours": 5}),
           "reportingperiod": (q2.id, {"end": "2026-12-27"}), "holiday": (holiday.id, {"name": "Другие"}),
           "individualplan": (plan.id, {"reason": "другая"}), "academicyear": (y, {"end": "2027-08-30"})}
    posts = {"classunit": {"school": a, "year": y, "grade": 6, "letter": "В", "period_kind": "quarter"},
             "teachingassignment": {"school": a, "year": y, "teacher": teacher, "subject": subject,
                                    "class_unit": b5, "weekly_hours": 2},
             "reportingperiod": {"school": a, "year": y, "kind": "trimester", "number": 1, "start": "2026-09-01",
                                 "end": "2026-11-30"},
             "holiday": {"school": a, "year": y, "name": "Карантин", "start": "2027-02-01", "end": "2027-02-07"},
             "individualplan": {"school": a, "year": y, "student": world.students["Алексеев"].id,
                                "subject": subject, "reason": "на дому"}}
    for name, (pk, put) in api.items():
        if name in posts:
            out.append((f"{name}.post", "POST", f"/api/v1/{name}/", None, posts[name]))
        out.append((f"{name}.put", "PUT", f"/api/v1/{name}/{pk}", None, put))
        out.append((f"{name}.delete", "DELETE", f"/api/v1/{name}/{pk}", None, None))
    return out


def test_the_walk_covers_every_write_route_of_the_year_rows(app, world, closed_year):
    planned = {(e.replace("classunit.", "ClassUnitApi.").replace("teachingassignment.", "TeachingAssignmentApi.")
                .replace("reportingperiod.", "ReportingPeriodApi.").replace("holiday.", "HolidayApi.")
                .replace("individualplan.", "IndividualPlanApi.").replace("academicyear.", "AcademicYearApi."), m)
               for e, m, *_ in year_attempts(world, closed_year)}
    new_year = {("AcademicYearView.add", "POST"), ("AcademicYearApi.post", "POST")}  # another year, not this one
    missing = write_routes(app, YEAR_MODELS) - planned - new_year
    assert not missing, sorted(missing)


@pytest.mark.parametrize("who", ["admin", "director"])
@pytest.mark.usefixtures("isolated")
def test_every_write_of_the_closed_year_is_refused_and_changes_nothing(app, world, frozen, closed_year,
                                                                      login_as, api_token, who):
    expected = year_closed_message(world.year_a)
    page, token = login_as(who), api_token(who)
    before = snapshot()
    failures = []
    for endpoint, method, url, form, body in attempts(world, frozen) + year_attempts(world, closed_year):
        if url.startswith("/api/"):
            response = app.test_client().open(url, method=method, json=body,
                                              headers={"Authorization": f"Bearer {token}"})
        elif body is not None:
            response = page.open(url, method=method, json=body)
        else:
            response = page.open(url, method=method, data=form, follow_redirects=True)
        text = _text(response)
        other = OTHER_REFUSALS.get((who, endpoint))
        if expected not in text and not (other and message(other) in text):
            failures.append(f"{endpoint} {method} {url}: {response.status_code} {_said(text)}")
        after = snapshot()
        if after != before:
            failures.append(f"{endpoint} {method} {url}: changed {[k for k in after if after[k] != before[k]]}")
            before = after
    assert not failures, "\n".join(failures)


def test_the_cli_cannot_make_lessons_in_the_closed_year(runner, world, closed_year):
    before = snapshot()
    result = runner.invoke(args=["school", "lessons", "--from", "2027-01-11", "--to", "2027-01-15",
                                 "--school", "Школа А"])
    assert result.exit_code == 2 and year_closed_message(world.year_a) in result.output
    assert snapshot() == before


def test_the_portals_receipt_still_lands_on_a_final_of_the_closed_year(world, frozen, closed_year):
    final = db.session.get(FinalGrade, frozen.final.id)
    final.published_at = dt.datetime(2027, 6, 1, 10, 0)
    db.session.commit()
    assert db.session.get(FinalGrade, frozen.final.id).published_at == dt.datetime(2027, 6, 1, 10, 0)


def test_the_roster_cannot_enrol_into_the_closed_year(runner, world, closed_year, tmp_path):
    from tests.test_roster import line, write_csv

    path = write_csv(tmp_path / "roster.csv", [line(**{
        "Класс": "5А", "Номер личного дела": "2026-0901", "Фамилия": "Новый", "Имя": "Пётр",
        "Дата рождения": "12.04.2015", "Дата зачисления": "01.09.2026"})])
    before = snapshot()
    result = runner.invoke(args=["school", "import", str(path), "--school", "Школа А", "--year", "2026/2027"])
    assert result.exit_code == 1 and year_closed_message(world.year_a) in result.output
    assert snapshot() == before
