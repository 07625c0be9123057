"""One average per student (SPEC §4): a student with marks in the class journal and in an
individual-plan journal of the same subject has one average on every surface (journal grid and
its cell saves, JSON journal, finals sheet and proposals, forecast, extracts, statistics), and
the «finals missing» count of closing a period names each such student once."""
import pytest
from flask import current_app

from app.extensions import db
from app.models import IndividualPlan, ReportingPeriod
from app.services.extracts_data import subject_rows
from app.services.finals import finals_sheet, missing_finals, propose_finals
from app.services.grid import journal_grid
from app.services.results import weighted_average
from app.services.stats import student_finals
from tests.factories import assign
from tests.forecast_helpers import NOV, lesson_on, marks
from tests.journal_helpers import actor, math_of, period_of, work_type

pytestmark = pytest.mark.usefixtures("isolated", "today")
CLASS_MARKS = [(NOV[0], 5, 1), (NOV[1], 5, 1), (NOV[2], 4, 1)]
PLAN_MARKS = [(NOV[3], 3, 5)]
EXPECTED = weighted_average([(v, w) for _d, v, w in CLASS_MARKS + PLAN_MARKS])  # 29/8 → 3.62


@pytest.fixture
def two_journals(world):
    """Алексеев (5А) learns mathematics in 5А's journal (`teacher`) and on an individual plan (`teacher_b`)."""
    kid = world.students["Алексеев"]
    plan = IndividualPlan(school=world.school_a, student=kid, subject=world.subjects["math"], year=world.year_a)
    db.session.add(plan)
    db.session.flush()
    plan_assignment = assign(world.staff["teacher_b"], world.subjects["math"], plan)
    db.session.commit()
    marks(world, "Алексеев", *CLASS_MARKS)
    marks(world, "Алексеев", *PLAN_MARKS, assignment=plan_assignment)
    return world, plan, plan_assignment


def q2(world) -> ReportingPeriod:
    return period_of(world.year_a, 2)


def test_the_journals_of_both_targets_show_the_one_average(two_journals, api_token):
    world, plan, _ = two_journals
    kid, math, period = world.students["Алексеев"], world.subjects["math"], q2(world)
    assert EXPECTED == 3.62
    for key, target in (("class_id", world.classes["5А"].id), ("plan_id", plan.id)):
        grid = journal_grid(actor("director"), key, target, math.id, period.id)
        assert grid["averages"][str(kid.id)] == EXPECTED, key
        token = api_token("director")
        response = current_app.test_client().get(
            f"/api/v1/journal/?{key}={target}&subject_id={math.id}&period_id={period.id}",
            headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json["averages"][str(kid.id)] == EXPECTED, key


def test_a_saved_cell_answers_with_the_one_average(two_journals, login_as):
    world, _, _ = two_journals
    kid, period = world.students["Алексеев"], q2(world)
    lesson = lesson_on(world, math_of(world), NOV[6])
    db.session.commit()
    wt = work_type(world, "Вес 1", 1)
    response = login_as("teacher").post("/journal/cell", json={
        "lesson_id": lesson.id, "student_id": kid.id, "kind": "mark", "work_type_id": wt.id, "value": 5,
        "period_id": period.id})
    assert response.status_code == 200, response.json
    assert response.json["average"] == weighted_average([(v, w) for _d, v, w in CLASS_MARKS + PLAN_MARKS] + [(5, 1)])


def test_finals_forecast_extract_and_statistics_show_the_one_average(two_journals, api_token):
    world, _, plan_assignment = two_journals
    kid, math, period = world.students["Алексеев"], world.subjects["math"], q2(world)
    for assignment in (math_of(world), plan_assignment):
        rows = {r.student.id: r for r in finals_sheet(assignment, period)}
        assert (rows[kid.id].average, rows[kid.id].marks) == (EXPECTED, 4)
        propose_finals(actor("director"), assignment, period)
    db.session.commit()
    finals = {r["subject"]: r for r in student_finals(period, kid.id)}
    assert finals["Математика"]["average"] == EXPECTED
    token = api_token("director")
    response = current_app.test_client().get(
        f"/api/v1/forecast/?class_id={world.classes['5А'].id}&subject_id={math.id}",
        headers={"Authorization": f"Bearer {token}"})
    row = next(r for r in response.json["rows"] if r["student"].startswith("Алексеев"))
    assert row["average"] == EXPECTED and row["marks"] == 4
    extract = next(r for r in subject_rows(kid, world.classes["5А"], period) if r["subject"] == "Математика")
    assert extract["average"] == f"{EXPECTED:.2f}".replace(".", ",")


def test_a_missing_final_counts_each_student_once(two_journals):
    world = two_journals[0]
    missing = missing_finals(q2(world))
    assert sorted((s.surname, subj.name) for s, subj, _target in missing) == [
        ("Алексеев", "Математика"), ("Борисов", "Математика"), ("Васильев", "Математика")]
