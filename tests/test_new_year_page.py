"""Issue 18 p.2: the administration's page of the next school year shows what the year finals still lack
and builds the next year as the CLI does; teachers have no access; a bad year changes nothing."""
from sqlalchemy import select

from app.extensions import db
from app.models import AcademicYear, FinalGrade, FinalStatus, FinalValue, PeriodKind, PromotionDecision
from tests.new_year_helpers import snapshot


def test_the_page_lists_missing_finals_then_builds_the_year(app, world, ready, login_as):
    db.session.delete(db.session.scalar(select(FinalGrade).where(FinalGrade.student_id == world.students["Егоров"].id)))
    db.session.commit()
    page = login_as("director")
    html = page.get("/newyear/").get_data(as_text=True)
    assert "Следующий учебный год" in html and "2026/2027" in html and 'value="2027/2028"' in html
    assert "Егоров И. И. (11А) — Математика: нет годовой отметки" in html
    before = snapshot()
    html = page.post("/newyear/build", data={"year": "2027/2028"}, follow_redirects=True).get_data(as_text=True)
    assert "не хватает годовых отметок: 1" in html and snapshot() == before

    ready_final = FinalGrade(school_id=world.school_a.id, student_id=world.students["Егоров"].id,
                             subject_id=world.subjects["math"].id, period_id=ready.period.id, value=FinalValue.five,
                             status=FinalStatus.final)
    db.session.add(ready_final)
    db.session.commit()
    html = page.post("/newyear/build", data={"year": "2027/2028"}, follow_redirects=True).get_data(as_text=True)
    assert "Учебный год 2027/2028 создан из 2026/2027" in html
    assert "переведён(а) условно" in html and "Математика, Русский язык" in html
    db.session.expire_all()
    assert db.session.get(AcademicYear, world.year_a.id).closed
    assert db.session.scalar(select(PromotionDecision.decided_by).limit(1)) == "director"


def test_a_bad_year_on_the_page_changes_nothing(app, world, ready, login_as):
    page = login_as("director")
    before = snapshot()
    html = page.post("/newyear/build", data={"year": "2030/2031"}, follow_redirects=True).get_data(as_text=True)
    assert "не следующий учебный год" in html and "Ничего не изменено" in html
    assert snapshot() == before


def test_teachers_and_the_registrar_have_no_access(app, world, login_as):
    for who in ("teacher", "registrar", "auditor"):
        client = login_as(who)
        assert client.get("/newyear/").status_code == 403
        assert client.post("/newyear/build", data={"year": "2027/2028"}).status_code == 403


def test_the_academic_record_runs_across_the_years_by_level(app, runner, world, ready, login_as):
    from app.models import ReportingPeriod
    from app.services.summary import academic_record

    assert runner.invoke(args=["school", "new-year", "2027/2028", "--school", "Школа А"]).exit_code == 0
    gusev = world.students["Гусев"]
    new_period = db.session.scalar(select(ReportingPeriod).join(AcademicYear).where(
        AcademicYear.name == "2027/2028", AcademicYear.school_id == world.school_a.id,
        ReportingPeriod.kind == PeriodKind.quarter, ReportingPeriod.number == 1))
    db.session.add(FinalGrade(school_id=gusev.school_id, student_id=gusev.id, subject_id=world.subjects["math"].id,
                              period_id=new_period.id, value=FinalValue.four, status=FinalStatus.final))
    db.session.commit()
    levels = academic_record(db.session.get(type(gusev), gusev.id))
    assert [(str(level["label"]), [(y["year"].name, [c.name for c in y["classes"]]) for y in level["years"]])
            for level in levels] == [
        ("Основное общее образование (5–9 классы)", [("2026/2027", ["9А"])]),
        ("Среднее общее образование (10–11 классы)", [("2027/2028", ["10А"])])]
    assert levels[0]["years"][0]["decision"].outcome.value == "graduated"
    html = login_as("director").get(f"/finals/record/{world.students['Борисов'].id}").get_data(as_text=True)
    assert "Решение: переведён(а) условно; академическая задолженность: Математика, Русский язык" in html
    assert "следующий класс 6А" in html
