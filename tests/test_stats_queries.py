"""The statistics' SQL: a fixed budget of statements whatever the number of classes, students, groups and
teachers (no N+1), nothing read from or counted for another school, and the per-teacher breakdown over
every way of teaching (class, group, stream, individual plan) counted by hand."""
import pytest
from sqlalchemy import select

from app.extensions import db
from app.models import AssessmentMode, AssessmentRule, IndividualPlan, Stream, StudyGroup, Subject
from app.services.stats import Filters, resolve, results
from tests import factories
from tests.journal_helpers import actor, add_students
from tests.journal_helpers import statements as recording
from tests.stats_helpers import build_results, final, other_period

pytestmark = pytest.mark.usefixtures("isolated", "http_today")

# the classes, and the one results statement (with the school's subjects, assessment rules and staff names)
RESULTS_STATEMENTS = 2


def statements(call) -> list[str]:
    """The SQL statements `call()` sends."""
    with recording() as seen:
        call()
    return seen


def taught_every_way(world, built) -> None:
    """English in 5А: the class teacher teaches the class and group 2 (Ученик00, 01), teacher_b group 1
    (Алексеев, Борисов); chess to a stream of Васильев (5Б) and Ученик02 by `teacher`; music to Ученик03 on
    an individual plan by teacher_b. Finals: English 5, 4, 3, 5; chess 4, 2; music 5."""
    a, unit, s = world.school_a, world.classes["5А"], built["s"]
    eng, chess, music = (factories.subject(a, name) for name in ("Английский", "Шахматы", "Музыка"))
    alex, boris, vas = (world.students[n] for n in ("Алексеев", "Борисов", "Васильев"))
    group_1 = StudyGroup(school=a, class_unit=unit, subject=eng, name="1", students=[alex, boris])
    group_2 = StudyGroup(school=a, class_unit=unit, subject=eng, name="2", students=[s[0], s[1]])
    stream = Stream(school=a, year=world.year_a, name="Шахматный клуб", students=[vas, s[2]])
    plan = IndividualPlan(school=a, student=s[3], subject=music, year=world.year_a)
    db.session.add_all([group_1, group_2, stream, plan])
    for teacher, subject, target in (("classteacher", eng, unit), ("classteacher", eng, group_2),
                                     ("teacher_b", eng, group_1), ("teacher", chess, stream),
                                     ("teacher_b", music, plan)):
        factories.assign(world.staff[teacher], subject, target)
    q1 = built["q1"]
    for student, subject, value in ((alex, eng, "5"), (boris, eng, "4"), (s[0], eng, "3"), (s[1], eng, "5"),
                                    (vas, chess, "4"), (s[2], chess, "2"), (s[3], music, "5")):
        final(student, subject, q1, value)
    db.session.commit()


def test_each_teacher_counts_each_final_of_their_students_once(world):
    built = build_results(world)
    taught_every_way(world, built)
    teachers = {t["teacher_id"]: t for t in results(Filters(built["q1"]))["teachers"]}
    # the class teacher: ОРКСЭ зач, незач, н/а, зач and English 5, 4, 3, 5 (group 2 is within the class's)
    mine = teachers[world.staff["classteacher"].id]
    assert mine["n"] == 8
    assert [mine["counts"][v] for v in ("зач", "незач", "н/а", "5", "4", "3")] == [2, 1, 1, 2, 1, 1]
    # teacher_b: 5Б mathematics 5, PE осв (not in N), English 5, 4 (group 1), music 5 (the plan)
    other = teachers[world.staff["teacher_b"].id]
    assert (other["n"], other["counts"]["5"], other["counts"]["4"], other["counts"]["осв"]) == (4, 3, 1, 1)
    assert other["quality"] == 100.0
    # teacher: 5А mathematics (N 7) and the stream's chess 4, 2
    assert teachers[world.staff["teacher"].id]["n"] == 9
    only = results(Filters(built["q1"], teacher_id=world.staff["teacher_b"].id))
    assert list({t["teacher_id"] for t in only["teachers"]}) == [world.staff["teacher_b"].id]
    assert only["school"]["n"] == 4


def test_a_final_of_two_group_teachers_counts_once_for_the_class_and_once_for_each(world):
    """Алексеев learns English in teacher_b's group 1 and on `teacher`'s individual plan: his final counts for
    each teacher once, and once for the class, the subject, the school and his standing."""
    built = build_results(world)
    taught_every_way(world, built)
    q1, a = built["q1"], world.school_a
    english = db.session.scalar(select(Subject).where(Subject.school_id == a.id, Subject.name == "Английский"))
    before = results(Filters(q1))
    plan = IndividualPlan(school=a, student=world.students["Алексеев"], subject=english, year=world.year_a)
    db.session.add(plan)
    factories.assign(world.staff["teacher"], english, plan)
    db.session.commit()
    after = results(Filters(q1))
    assert [after[k] for k in ("school", "grades", "classes", "subjects")] == \
        [before[k] for k in ("school", "grades", "classes", "subjects")]
    teachers = {t["teacher_id"]: t for t in after["teachers"]}
    was = {t["teacher_id"]: t for t in before["teachers"]}
    mine, mine_before = teachers[world.staff["teacher"].id], was[world.staff["teacher"].id]
    assert (mine["n"], mine["counts"]["5"]) == (mine_before["n"] + 1, mine_before["counts"]["5"] + 1)
    assert teachers[world.staff["teacher_b"].id] == was[world.staff["teacher_b"].id]


def _grow(world, built) -> None:
    """Two more classes with students, finals, a group each and its teacher; more students in 5А."""
    q1 = built["q1"]
    for grade, letter in ((6, "А"), (7, "Б")):
        unit = factories.class_unit(world.year_a, grade, letter)
        world.classes[unit.name] = unit
        teacher = factories.staff(world.school_a, f"Учитель{unit.name}")
        factories.assign(teacher, world.subjects["math"], unit)
        kids = add_students(world, unit.name, 6, prefix=f"Ученик{unit.name}")
        group = StudyGroup(school=world.school_a, class_unit=unit, name="1", students=kids[:3])
        db.session.add(group)
        factories.assign(factories.staff(world.school_a, f"Группа{unit.name}"), built["orkse"], group)
        for n, student in enumerate(kids):
            final(student, world.subjects["math"], q1, str(2 + n % 4))
            final(student, built["orkse"], q1, "зач" if n % 2 else "незач")
    for student in add_students(world, "5А", 5, prefix="Новичок"):
        final(student, world.subjects["math"], q1, "4")
    db.session.commit()


def test_the_results_cost_a_fixed_number_of_statements(world, api_token, app):
    built = build_results(world)
    taught_every_way(world, built)
    q1 = built["q1"]
    token = api_token("director")

    def call():
        response = app.test_client().get(f"/api/v1/stats/results?period_id={q1.id}",
                                         headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200
        return response.json

    def measured():
        """The statements of the service and of the call, after a warm-up (reloading what the commit expired)."""
        results(Filters(q1))
        call()
        return statements(lambda: results(Filters(q1))), statements(call)

    small, small_call = measured()
    _grow(world, built)
    large, large_call = measured()
    body = call()
    assert [c["name"] for c in body["classes"]] == ["5А", "5Б", "6А", "7Б"] and len(body["teachers"]) == 7
    assert len(small) == len(large) == RESULTS_STATEMENTS, "\n".join(large)
    assert len(small_call) == len(large_call), "\n".join(large_call)


def test_another_schools_data_changes_nothing_and_costs_nothing(world, api_token, app):
    built = build_results(world)
    taught_every_way(world, built)
    q1 = built["q1"]
    token = api_token("director")
    url = f"/api/v1/stats/results?period_id={q1.id}"

    def call():
        return app.test_client().get(url, headers={"Authorization": f"Bearer {token}"}).json

    call()
    before, before_statements = call(), statements(call)
    # school B: more classes, students in groups and a stream, every kind of teaching, finals of its quarter
    b, q1_b = world.school_b, other_period(world)
    unit = factories.class_unit(world.year_b, 6, "А")
    world.classes["B6А"] = unit
    kids = add_students(world, "B6А", 8, prefix="Чужой")
    subject = factories.subject(b, "Английский")
    group = StudyGroup(school=b, class_unit=unit, subject=subject, name="1", students=kids[:4])
    stream = Stream(school=b, year=world.year_b, name="Поток", students=[world.students["Гаврилов"], kids[5]])
    plan = IndividualPlan(school=b, student=kids[6], subject=subject, year=world.year_b)
    db.session.add_all([group, stream, plan])
    teacher = world.staff["teacher_other"]
    for target in (unit, group, stream, plan):
        factories.assign(teacher, subject, target)
    # its rules and staff: the results read the school's own (grade 5 of school A stays marked)
    db.session.add_all([AssessmentRule(school=b, grade=grade, mode=AssessmentMode.unmarked) for grade in (5, 6, 7)])
    for n, kid in enumerate([*kids, world.students["Гаврилов"]]):
        final(kid, subject, q1_b, str(2 + n % 4))
        final(kid, world.subjects["math_b"], q1_b, "5")
    db.session.commit()
    after, after_statements = call(), statements(call)
    assert after == before
    assert len(after_statements) == len(before_statements), "\n".join(after_statements)


def test_the_period_and_its_counterparts_are_one_statement(world):
    """An API call resolves its filters from a fresh session: the period, its year's title and the other
    schemes' periods ending within it come in one read."""
    q1, scope = build_results(world)["q1"].id, actor("director").scope
    db.session.expunge_all()  # as in a request: nothing in the session yet
    found = []
    assert len(statements(lambda: found.append(resolve(scope, q1)))) == 1
    assert found[0].period.title.startswith("1 ") and found[0].other_schemes == ()
