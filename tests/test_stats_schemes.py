"""/stats/ covers every scheme of the school at once: a quarter view counts the half-year classes by their
own half-year ending in that quarter (10А was missing from the quarter view), on the page and the API."""
import datetime as dt

import pytest

from app.extensions import db
from app.models import FinalGrade, FinalStatus, FinalValue, PeriodKind, ReportingPeriod
from app.security.scope import scope_for_user
from app.services.stats import resolve, results
from tests import factories
from tests.journal_helpers import HTTP_TODAY, freeze_today, period_of, staff_of

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def two_schemes(app, world):
    """5А (quarters) with a 5 in the second quarter; 10А (half-years) with a 4 and a 3 in the first
    half-year, which ends with the second quarter (28.12.2026)."""
    freeze_today(app, HTTP_TODAY)
    year, school = world.year_a, world.school_a
    h1 = ReportingPeriod(school=school, year=year, kind=PeriodKind.half_year, number=1,
                         start=dt.date(2026, 9, 1), end=dt.date(2026, 12, 28))
    db.session.add(h1)
    ten = factories.class_unit(year, 10, "А")
    ten.period_kind = PeriodKind.half_year
    q2, math = period_of(year, 2), world.subjects["math"]
    finals = [(world.students["Алексеев"], q2, "5"), (factories.student(ten, "Яковлев"), h1, "4"),
              (factories.student(ten, "Юрьев"), h1, "3")]
    for kid, period, value in finals:
        db.session.add(FinalGrade(school_id=school.id, student_id=kid.id, subject_id=math.id, period_id=period.id,
                                  value=FinalValue(value), status=FinalStatus.final))
    db.session.commit()
    return q2, h1, ten


def test_the_quarter_view_counts_the_half_year_classes_by_their_own_period(world, two_schemes):
    q2, h1, ten = two_schemes
    scope = scope_for_user(staff_of("director").user)
    data = results(resolve(scope, q2.id))
    classes = {c["name"]: c for c in data["classes"]}
    assert set(classes) == {"5А", "5Б", "10А"}
    assert classes["10А"]["counts"]["4"] == 1 and classes["10А"]["counts"]["3"] == 1
    assert data["school"]["counts"]["5"] == 1 and data["school"]["n"] == 3
    assert {c["name"] for c in results(resolve(scope, h1.id))["classes"]} == {"5А", "5Б", "10А"}
    only_ten = results(resolve(scope, q2.id, class_id=ten.id))
    assert only_ten["school"]["n"] == 2


def test_the_page_and_the_api_show_10a_in_the_quarter(world, two_schemes, login_as, call):
    q2, _h1, ten = two_schemes
    page = login_as("director").get(f"/stats/?period_id={q2.id}").get_data(as_text=True)
    assert "grade=10" in page
    assert "Классы других систем периодов учтены по своему периоду: 1 полугодие 2026/2027." in page
    page = login_as("director").get(f"/stats/?period_id={q2.id}&grade=10").get_data(as_text=True)
    assert f"class_id={ten.id}" in page
    answer = call("director", "get", f"/api/v1/stats/results?period_id={q2.id}")
    assert answer.status_code == 200 and "10А" in {c["name"] for c in answer.json["classes"]}
