"""Statistics of a period, hand-computed (SPEC §4): N, успеваемость, качество, СОУ, average and the
distribution at every level; class-level успевающие/качественные; curriculum fulfilment; attendance;
the pure formula at its edges; and the dashboard's statement count (no N+1)."""
import datetime as dt

import pytest

from app.extensions import db
from app.models import CurriculumItem, Enrolment, Lesson, LessonStatus, StudyGroup
from app.services import stats_cache
from app.services.errors import RuleViolation
from app.services.fulfilment import attendance, curriculum, curriculum_totals
from app.services.results import metrics, metrics_of_counts
from app.services.stats import Filters, NotFound, class_students, resolve, results
from tests import factories
from tests.journal_helpers import actor, add_students, bell_slot, period_of
from tests.stats_helpers import Q1_DAYS, build_curriculum, build_results, final, other_period
from tests.test_journal_queries import statements_of

MATH_5A = {"5": 1, "4": 2, "3": 2, "2": 1, "н/а": 1}


def by(rows, key, value):
    return next(r for r in rows if r[key] == value)


# ---- the pure formula ------------------------------------------------------------------------

def test_formula_of_a_class_subject():
    m = metrics(["5", "4", "4", "3", "2", "н/а", "3", "осв", None])
    assert m["n"] == 7
    assert m["success"] == 71.43  # (1 + 2 + 2) / 7
    assert m["quality"] == 42.86  # (1 + 2) / 7
    assert m["sou"] == 46.14  # (100 + 128 + 72 + 16 + 7) / 7 = 323 / 7
    assert m["average"] == 3.5  # (5 + 8 + 6 + 2) / 6: н/а is not a number
    assert metrics_of_counts({"5": 1, "4": 2, "3": 2, "2": 1, "н/а": 1, "осв": 1}) == m  # from a GROUP BY


def test_n_zero_and_all_exempt_give_no_percentages():
    for values in ([], ["осв", "осв"], [None]):
        m = metrics(values)
        assert m["n"] == 0 and m["success"] is m["quality"] is m["sou"] is m["average"] is None


def test_not_certified_stays_in_n():
    m = metrics(["5", "н/а"])
    assert (m["n"], m["success"], m["quality"], m["sou"], m["average"]) == (2, 50.0, 50.0, 53.5, 5.0)


def test_pass_fail_subject_has_no_quality():
    m = metrics(["зач", "незач", "н/а", "зач"], pass_fail=True)
    assert (m["n"], m["success"], m["quality"], m["sou"], m["average"]) == (4, 50.0, None, None, None)


# ---- results of the crafted world -----------------------------------------------------------

def test_class_subject_metrics_with_leaver_newcomer_deferred_and_exempt(world):
    built = build_results(world)
    data = results(Filters(built["q1"]))
    subject = by(data["subjects"], "name", "Математика")  # 5А and 5Б together
    assert subject["n"] == 8 and subject["counts"]["5"] == 2
    only_5a = results(Filters(built["q1"], class_id=world.classes["5А"].id))
    math = by(only_5a["subjects"], "name", "Математика")
    assert math["n"] == 7  # 9 at the end − осв − deferred; the leaver's 5 is not counted
    assert {k: v for k, v in math["counts"].items() if v and k != "осв"} == MATH_5A
    assert (math["success"], math["quality"], math["sou"], math["average"]) == (71.43, 42.86, 46.14, 3.5)
    orkse = by(only_5a["subjects"], "name", "ОРКСЭ")
    assert (orkse["n"], orkse["success"], orkse["quality"], orkse["sou"]) == (4, 50.0, None, None)


def test_school_level_quality_sou_and_average_leave_pass_fail_subjects_out(world):
    built = build_results(world)
    school = results(Filters(built["q1"]))["school"]
    assert school["n"] == 12  # 7 + 4 in 5А, 1 in 5Б (PE осв is out)
    assert school["success"] == 66.67  # (2 + 2 + 2 + 2 зач) / 12
    assert school["quality"] == 50.0  # numeric subjects only: (2 + 2) / 8
    assert school["sou"] == 52.88  # numeric subjects only: (200 + 128 + 72 + 16 + 7·1) / 8 = 423 / 8
    assert (school["passed"], school["failed"]) == (2, 1)  # ОРКСЭ counted apart
    assert school["average"] == 3.71  # 26 / 7


def test_class_level_successful_and_quality_students(world):
    built = build_results(world)
    data = results(Filters(built["q1"]))
    a = by(data["classes"], "name", "5А")
    # Алексеев (5, зач), s1 (3, зач), newcomer (3) succeed; only Алексеев is «качественный»
    assert (a["students"], a["students_n"], a["successful"], a["quality_students"]) == (9, 7, 3, 1)
    assert (a["successful_pct"], a["quality_students_pct"]) == (42.86, 14.29)
    b = by(data["classes"], "name", "5Б")
    assert (b["students"], b["students_n"], b["successful"], b["successful_pct"]) == (1, 1, 1, 100.0)
    grade = by(data["grades"], "grade", 5)
    assert (grade["students_n"], grade["successful"], grade["successful_pct"]) == (8, 4, 50.0)
    assert data["school"]["quality_students"] == 2


def test_excellent_students_by_their_worst_final(world):
    """Отличники: certified with every final 5 or зач (осв aside); a 4 leaves a student «качественный» only."""
    built = build_results(world)
    q1, math, orkse = built["q1"], world.subjects["math"], built["orkse"]
    four, pass_only = add_students(world, "5А", 2, prefix="Доп")
    for student, subject, value in ((four, math, "4"), (four, orkse, "зач"), (pass_only, math, "осв"),
                                    (pass_only, orkse, "зач")):
        final(student, subject, q1, value)
    db.session.commit()
    data = results(Filters(q1))
    a = by(data["classes"], "name", "5А")
    # Алексеев (5, зач) and Доп1 (осв, зач) are отличники; Доп0 (4, зач) is «качественный»
    assert (a["students_n"], a["successful"], a["quality_students"], a["excellent"]) == (9, 5, 3, 2)
    assert by(data["classes"], "name", "5Б")["excellent"] == 1  # Васильев: 5, PE осв
    assert data["school"]["excellent"] == 3


def test_an_all_exempt_class_subject_has_n_zero(world):
    built = build_results(world)
    pe = by(results(Filters(built["q1"], class_id=world.classes["5Б"].id))["subjects"], "name", "Физкультура")
    assert pe["n"] == 0 and pe["counts"]["осв"] == 1 and pe["success"] is None and pe["sou"] is None


def test_by_teacher_and_filters(world):
    built = build_results(world)
    data = results(Filters(built["q1"]))
    teacher = by(data["teachers"], "teacher_id", world.staff["teacher"].id)
    assert teacher["n"] == 7 and teacher["success"] == 71.43
    classteacher = by(data["teachers"], "teacher_id", world.staff["classteacher"].id)
    assert classteacher["n"] == 4 and classteacher["quality"] is None
    only = results(Filters(built["q1"], teacher_id=world.staff["teacher_b"].id))
    assert only["school"]["n"] == 1 and [t["teacher_id"] for t in only["teachers"]] == [world.staff["teacher_b"].id]
    graded = results(Filters(built["q1"], grade=6))
    assert graded["school"]["n"] == 0 and graded["classes"] == []
    subject = results(Filters(built["q1"], subject_id=built["orkse"].id))
    assert subject["school"]["n"] == 4 and subject["school"]["quality"] is None


def test_class_students_rows(world):
    built = build_results(world)
    rows = class_students(Filters(built["q1"], class_id=world.classes["5А"].id))
    assert len(rows) == 9  # the leaver is gone
    alex = by(rows, "student_id", world.students["Алексеев"].id)
    assert alex["counts"] == {"5": 1, "зач": 1} and alex["successful"] and alex["quality"]
    boris = by(rows, "student_id", world.students["Борисов"].id)
    assert not boris["successful"]
    deferred = by(rows, "student_id", built["s"][5].id)
    assert deferred["counts"] == {} and not deferred["successful"]


def test_a_student_who_moved_counts_in_the_new_class(world):
    built = build_results(world)
    mover = built["s"][0]
    enrolment = mover.enrolments[0]
    enrolment.end = dt.date(2026, 10, 5)
    db.session.add(Enrolment(school_id=mover.school_id, student_id=mover.id,
                                                 class_unit_id=world.classes["5Б"].id, start=dt.date(2026, 10, 6)))
    db.session.commit()
    data = results(Filters(built["q1"]))
    assert by(data["classes"], "name", "5А")["n"] == 9 and by(data["classes"], "name", "5Б")["n"] == 3
    assert data["school"]["n"] == 12


# ---- parameters ------------------------------------------------------------------------------

def test_resolve_checks_the_school_and_the_parameters(world, app):
    built = build_results(world)
    director = actor("director").scope
    assert resolve(director, built["q1"].id).period.id == built["q1"].id
    with pytest.raises(NotFound):
        resolve(director, other_period(world).id)
    with pytest.raises(NotFound):
        resolve(actor("teacher").scope, built["q1"].id)
    with pytest.raises(RuleViolation):
        resolve(director, None)
    with pytest.raises(RuleViolation):
        resolve(director, built["q1"].id, class_id=world.classes["B5А"].id)
    with pytest.raises(RuleViolation):
        resolve(director, built["q1"].id, grade=12)
    assert resolve(actor("admin").scope, other_period(world).id).period.school_id == world.school_b.id


# ---- curriculum and attendance --------------------------------------------------------------

def test_curriculum_fulfilment(world):
    built = build_curriculum(world)
    orkse = factories.subject(world.school_a, "ОРКСЭ")
    db.session.add(CurriculumItem(
        school_id=world.school_a.id, class_unit_id=world.classes["5А"].id, subject=orkse, period_id=built["q1"].id,
        weekly_hours=1, planned_hours=5))
    db.session.commit()
    rows = curriculum(Filters(built["q1"], class_id=world.classes["5А"].id))
    math = by(rows, "subject", "Математика")
    assert (math["planned"], math["held"], math["cancelled"], math["scheduled"]) == (10, 6, 2, 1)
    assert (math["deficit"], math["percent"]) == (4, 60.0)
    assert math["by_type"] == {"regular": 4, "control_work": 1, "laboratory": 1}
    assert (math["control_planned"], math["control_held"]) == (2, 1)
    nothing = by(rows, "subject", "ОРКСЭ")
    assert (nothing["planned"], nothing["held"], nothing["deficit"], nothing["percent"]) == (5, 0, 5, 0.0)
    total = curriculum_totals(rows, "class")[0]
    assert (total["planned"], total["held"], total["deficit"], total["percent"]) == (15, 6, 9, 40.0)
    q2 = curriculum(Filters(period_of(world.year_a, 2), class_id=world.classes["5А"].id))
    assert [(r["planned"], r["held"], r["control_planned"]) for r in q2] == [(None, 0, 1)]


def test_attendance_by_reason(world):
    built = build_curriculum(world)
    rows = attendance(Filters(built["q1"]))
    assert rows == [{"class_id": world.classes["5А"].id, "class": "5А", "grade": 5,
                     "codes": {"Н": 2, "Б": 1, "УП": 1, "ОП": 1}, "missed": 4}]
    alex = attendance(Filters(built["q1"]), student_id=world.students["Алексеев"].id)
    assert alex[0]["codes"] == {"Н": 2, "Б": 0, "УП": 0, "ОП": 1}


# ---- the dashboard: no N+1 -------------------------------------------------------------------

def _more_classes(world, q1):
    """Two more classes (5В, 6А) with students and finals."""
    for grade, letter in ((5, "В"), (6, "А")):
        unit = factories.class_unit(world.year_a, grade, letter)
        world.classes[unit.name] = unit
        factories.assign(world.staff["teacher_b"], world.subjects["math"], unit)
        for n, student in enumerate(add_students(world, unit.name, 5, prefix=f"Ученик{unit.name}")):
            final(student, world.subjects["math"], q1, str(2 + n % 4))
    db.session.commit()


def cold_statements_of(client, url: str) -> tuple[list[str], str]:
    """statements_of with the results computed, not served from the cache (an N+1 would hide behind a hit)."""
    stats_cache.clear()
    return statements_of(client, url)


@pytest.mark.usefixtures("isolated", "http_today")
def test_the_school_dashboard_costs_the_same_for_1_and_3_classes(world, login_as):
    q1 = period_of(world.year_a, 1)
    final(world.students["Алексеев"], world.subjects["math"], q1, "5")
    final(world.students["Борисов"], world.subjects["math"], q1, "3")
    db.session.commit()
    client = login_as("director")
    url = f"/stats/?period_id={q1.id}"
    statements_of(client, url)  # warm-up
    small, page = cold_statements_of(client, url)
    assert "grade=5" in page and "grade=6" not in page
    _more_classes(world, q1)
    large, page = cold_statements_of(client, url)
    assert "grade=6" in page and "Другова" in page
    assert len(small) == len(large), "\n".join(large)
    class_url = f"/stats/?period_id={q1.id}&class_id={world.classes['5А'].id}"
    statements_of(client, class_url)
    before, _ = cold_statements_of(client, class_url)
    add_students(world, "5А", 10, prefix="Новичок")
    after, page = cold_statements_of(client, class_url)
    assert page.count('class="student-row"') == 12 and len(before) == len(after), "\n".join(after)


@pytest.mark.usefixtures("isolated", "http_today")
def test_the_dashboard_drills_down_and_exports(world, login_as):
    built = build_results(world)
    build_curriculum(world)
    client = login_as("director")
    q1 = built["q1"].id
    page = client.get(f"/stats/?period_id={q1}").get_data(as_text=True)
    assert "66.67" in page and "grade=5" in page
    page = client.get(f"/stats/?period_id={q1}&grade=5").get_data(as_text=True)
    assert f"class_id={world.classes['5А'].id}" in page
    page = client.get(f"/stats/?period_id={q1}&class_id={world.classes['5А'].id}").get_data(as_text=True)
    assert "71.43" in page and "<svg" in page and "60.0" in page
    assert "=None" not in page and "Учителева" in page  # the teacher filter offers the year's teachers
    math = world.subjects["math"].id
    page = client.get(f"/stats/?period_id={q1}&class_id={world.classes['5А'].id}&subject_id={math}").get_data(
        as_text=True)
    assert f"subject_id={math}" in page and "ОРКСЭ (" not in page
    alex = world.students["Алексеев"].id
    page = client.get(f"/stats/?period_id={q1}&student_id={alex}").get_data(as_text=True)
    assert "ОРКСЭ" in page and "зач" in page
    csv = client.get(f"/stats/export.csv?table=classes&period_id={q1}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "5А" in csv.get_data(as_text=True) and "42.86" in csv.get_data(as_text=True)
    for table in ("grades", "subjects", "teachers", "curriculum", "attendance"):
        assert client.get(f"/stats/export.csv?table={table}&period_id={q1}").status_code == 200
    students = client.get(f"/stats/export.csv?table=students&period_id={q1}&class_id={world.classes['5А'].id}")
    assert students.status_code == 200 and "Алексеев" in students.get_data(as_text=True)
    assert client.get(f"/stats/export.csv?table=nope&period_id={q1}").status_code == 400
    assert client.get(f"/stats/?period_id={other_period(world).id}").status_code == 404


@pytest.mark.usefixtures("isolated", "http_today")
def test_a_teacher_has_no_access(world, login_as):
    build_results(world)
    client = login_as("teacher")
    assert client.get("/stats/").status_code == 403
    assert client.get("/stats/export.csv?table=classes").status_code == 403


def test_curriculum_of_a_subject_taught_in_groups_has_a_row_per_group(world):
    q1 = period_of(world.year_a, 1)
    unit, a = world.classes["5А"], world.school_a
    english = factories.subject(a, "Английский язык")
    groups = [StudyGroup(school=a, class_unit=unit, subject=english, name=f"Группа {n}") for n in (1, 2)]
    db.session.add_all(groups)
    assignments = [factories.assign(world.staff["teacher"], english, g, hours=2) for g in groups]
    db.session.add(CurriculumItem(school_id=a.id, class_unit_id=unit.id, subject=english, period_id=q1.id,
                                  weekly_hours=2, planned_hours=4))
    for number, (assignment, held) in enumerate(zip(assignments, (4, 3), strict=True), start=1):
        slot = bell_slot(world, number)  # one teacher for both groups: not at once (no clash)
        db.session.add_all([Lesson(school_id=a.id, assignment=assignment, date=Q1_DAYS[n], bell_slot=slot,
                                   teacher_id=world.staff["teacher"].id, status=LessonStatus.held)
                            for n in range(held)])
    db.session.commit()
    rows = curriculum(Filters(q1, subject_id=english.id))
    assert [(r["class"], r["group"], r["planned"], r["held"], r["deficit"], r["percent"]) for r in rows] == [
        ("5А", "Группа 1", 4, 4, 0, 100.0), ("5А", "Группа 2", 4, 3, 1, 75.0)]
