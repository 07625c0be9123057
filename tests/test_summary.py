"""The class summary sheet with its metrics computed by hand, and the individual academic record
across years and levels: contents and who may open them."""
import datetime as dt
import html

import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import (
    AcademicYear,
    Enrolment,
    ExamResult,
    FinalGrade,
    FinalStatus,
    FinalValue,
    PeriodKind,
    ReportingPeriod,
)
from app.services.summary import summary_sheet
from tests import factories
from tests.finals_helpers import q1
from tests.journal_helpers import add_students, message

pytestmark = pytest.mark.usefixtures("isolated")


def _final(world, student, value, status=FinalStatus.final, period=None, subject=None, **fields) -> None:
    db.session.add(FinalGrade(school_id=student.school_id, student_id=student.id,
                              subject_id=(subject or world.subjects["math"]).id, period_id=(period or q1(world)).id,
                              value=FinalValue(value) if value else None, status=status, **fields))


@pytest.fixture
def graded(world):
    """5А in the first quarter: 5, 4, 2, н/а, осв, deferred, and a leaver (left 01.10) with a 3."""
    extra = add_students(world, "5А", 4)
    leaver = add_students(world, "5А", 1, end=dt.date(2026, 10, 1), prefix="Выбывший")[0]
    for student, value in zip([world.students["Алексеев"], world.students["Борисов"], *extra[:3], leaver],
                              ["5", "4", "2", "н/а", "осв", "3"], strict=True):
        _final(world, student, value)
    _final(world, extra[3], None, FinalStatus.deferred, deferral_reason="болезнь",
           deferral_deadline=dt.date(2026, 12, 1))
    db.session.commit()
    return extra, leaver


def test_summary_metrics_by_hand(world, graded):
    data = summary_sheet(world.classes["5А"])
    math, period = world.subjects["math"], q1(world)
    got = data["metrics"][(math.id, period.id)]
    # at the quarter's end 6 students; N = 6 − 1 осв − 1 without a final (deferred) = 4; the leaver is out
    assert got["n"] == 4
    assert got["success"] == 50.0  # 5 and 4 of 4
    assert got["quality"] == 50.0
    assert got["sou"] == 46.75  # (100 + 64 + 16 + 7) / 4
    assert got["average"] == 3.67  # (5 + 4 + 2) / 3
    assert data["standing"][period.id] == {"students": 4, "succeeding": 2, "quality": 2}
    assert len(data["rows"]) == 7  # the leaver keeps the row of the finals he got


def test_the_summary_page_shows_finals_deferrals_and_metrics(world, login_as, graded):
    response = login_as("classteacher").get(f"/finals/summary?class_id={world.classes['5А'].id}")
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    assert "Выбывший00" in text and ">н/а<" in text and ">осв<" in text
    assert 'title="' + message("Deferred until %(day)s: %(reason)s", day="01.12.2026", reason="болезнь") + '">отср.<' \
        in text
    assert ">50.0<" in text and ">46.8<" in text and ">3.67<" in text


@pytest.mark.parametrize(("username", "cls", "status"), [
    ("director", "5А", 200), ("auditor", "5А", 200), ("classteacher", "5А", 200), ("classteacher", "5Б", 404),
    ("teacher", "5А", 404), ("teacher_b", "5Б", 404), ("registrar", "5А", 403), ("director_b", "5А", 404),
])
def test_who_reads_the_summary(world, login_as, graded, username, cls, status):
    response = login_as(username).get(f"/finals/summary?class_id={world.classes[cls].id}")
    assert response.status_code == status
    text = response.get_data(as_text=True)
    if status == 200:  # the class's own students, nobody else's
        own, other = ("Алексеев", "Васильев") if cls == "5А" else ("Васильев", "Алексеев")
        assert own in text and other not in text
    else:
        assert "Алексеев" not in text and "Васильев" not in text


def test_the_summary_needs_a_class(world, login_as):
    response = login_as("director").get("/finals/summary?class_id=x")
    assert response.status_code == 400
    assert message("%(name)s must be a whole number from 1 to %(max)s, got «%(raw)s».", name="class_id",
                   max=2**31 - 1, raw="x") in response.get_data(as_text=True)


@pytest.fixture
def history(world):
    """Алексеев was in 4А (primary) in 2025/26 with a year grade and a competition; 5А now."""
    kid = world.students["Алексеев"]
    last = AcademicYear(school=world.school_a, name="2025/2026", start=dt.date(2025, 9, 1), end=dt.date(2026, 8, 31))
    db.session.add(last)
    cls = factories.class_unit(last, 4, "А")

    db.session.add(Enrolment(school=world.school_a, student=kid, class_unit=cls, start=dt.date(2025, 9, 1),
                             end=dt.date(2026, 5, 31)))
    year_period = ReportingPeriod(school=world.school_a, year=last, kind=PeriodKind.year, number=1,
                                  start=last.start, end=dt.date(2026, 5, 26))
    db.session.add(year_period)
    db.session.flush()
    _final(world, kid, "4", period=year_period)
    _final(world, kid, "5")
    db.session.add(ExamResult(school_id=kid.school_id, student_id=kid.id, name="Олимпиада «Кенгуру»",
                              date=dt.date(2026, 3, 10), score=88, grade="призёр", result_date=dt.date(2026, 3, 20)))
    db.session.commit()
    return kid


def test_the_record_shows_every_year_by_level(world, login_as, history):
    response = login_as("director").get(f"/finals/record/{history.id}")
    assert response.status_code == 200
    text = html.unescape(response.get_data(as_text=True))
    primary = text.index(message("Primary general education (grades 1–4)"))
    basic = text.index(message("Basic general education (grades 5–9)"))
    assert primary < text.index("2025/2026") < text.index("Олимпиада «Кенгуру»") < basic < text.index("2026/2027")
    assert "88" in text and "призёр" in text and "20.03.2026" in text
    assert text.count("<td>Математика</td>") == 2


@pytest.mark.parametrize(("username", "kid", "status"), [
    ("director", "Алексеев", 200), ("auditor", "Алексеев", 200), ("classteacher", "Алексеев", 200),
    ("classteacher", "Васильев", 404), ("teacher", "Алексеев", 403), ("registrar", "Алексеев", 403),
    ("director_b", "Алексеев", 404), ("director", "Гаврилов", 404),
])
def test_who_reads_the_record(world, login_as, username, kid, status):
    assert login_as(username).get(f"/finals/record/{world.students[kid].id}").status_code == status


def test_the_record_is_linked_from_the_student_and_the_sheet_from_the_journal(world, login_as, graded):
    kid = world.students["Алексеев"]
    client = login_as("director")
    assert f"/finals/record/{kid.id}" in client.get(f"/studentview/show/{kid.id}").get_data(as_text=True)
    assert f"/finals/record/{kid.id}" in client.get(
        f"/finals/summary?class_id={world.classes['5А'].id}").get_data(as_text=True)
    grid = client.get(f"/journal/grid?target=class_id&id={world.classes['5А'].id}&subject={world.subjects['math'].id}"
                      f"&period={q1(world).id}").get_data(as_text=True)
    assert "/finals/sheet?target=class_id" in grid


def test_class_totals_are_incomplete_until_every_subject_has_finals(world, login_as, graded):
    q1_id, cls = q1(world).id, world.classes["5А"]
    q2 = db.session.scalar(select(ReportingPeriod).where(
        ReportingPeriod.year_id == world.year_a.id, ReportingPeriod.kind == PeriodKind.quarter,
        ReportingPeriod.number == 2))
    missing = summary_sheet(cls)["missing"]
    assert missing[q1_id] == 1  # the deferred final of the first quarter; exempt (осв) and н/а are finals
    assert missing[q2.id] == 6  # six students at the end of the second quarter, none with a final yet
    page = html.unescape(login_as("classteacher").get(f"/finals/summary?class_id={cls.id}").get_data(as_text=True))
    row = page[page.index(f'<tr data-period="{q1_id}"'):]
    assert "неполные: не выставлено итоговых отметок — 1" in row[:row.index("</tr>")]
    deferred = db.session.scalar(select(FinalGrade).where(FinalGrade.status == FinalStatus.deferred))
    deferred.status, deferred.value = FinalStatus.final, FinalValue("4")
    db.session.commit()
    assert summary_sheet(cls)["missing"][q1_id] == 0
    page = html.unescape(login_as("classteacher").get(f"/finals/summary?class_id={cls.id}").get_data(as_text=True))
    row = page[page.index(f'<tr data-period="{q1_id}"'):]
    assert "неполные" not in row[:row.index("</tr>")]
