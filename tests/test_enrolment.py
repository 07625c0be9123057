"""The enrolment history follows the student's current class (app/services/students.py)."""
import datetime as dt

from sqlalchemy import select

from app.extensions import db
from app.models import AcademicYear, ClassUnit, Enrolment, PeriodKind, Student
from app.services.students import open_enrolment, sync_enrolment

D = dt.date


def history(student: Student) -> list[tuple[str, dt.date, dt.date | None]]:
    """(class, start, end) of every enrolment of the student, oldest first, as stored."""
    db.session.expire_all()
    rows = db.session.scalars(
        select(Enrolment).where(Enrolment.student_id == student.id).order_by(Enrolment.start, Enrolment.id))
    return [(e.class_unit.name, e.start, e.end) for e in rows]


def new_student(world, cls: str = "5Б", enrolled_on: dt.date = D(2026, 9, 1), **kw) -> Student:
    student = Student(school=world.school_a, surname="Новиков", name="Пётр", patronymic="Ильич",
                      birth_date=D(2015, 3, 15), class_unit=world.classes[cls], enrolled_on=enrolled_on, **kw)
    db.session.add(student)
    db.session.flush()
    return student


def test_adding_a_student_opens_an_enrolment_from_the_year_start(world):
    student = new_student(world, enrolled_on=D(2019, 9, 1))  # enrolled at school in grade 1
    enrolment = sync_enrolment(student, today=D(2026, 10, 5))
    db.session.commit()
    assert history(student) == [("5Б", D(2026, 9, 1), None)]
    assert open_enrolment(student).id == enrolment.id


def test_a_student_enrolled_mid_year_starts_on_the_enrolment_day(world):
    student = new_student(world, enrolled_on=D(2026, 11, 16))
    sync_enrolment(student, today=D(2026, 11, 16))
    db.session.commit()
    assert history(student) == [("5Б", D(2026, 11, 16), None)]


def test_syncing_again_without_a_change_adds_nothing(world):
    student = world.students["Алексеев"]
    before = history(student)
    enrolment = sync_enrolment(student, today=D(2026, 12, 1))
    db.session.commit()
    assert history(student) == before == [("5А", D(2026, 9, 1), None)]
    assert enrolment.class_unit.name == "5А"


def test_moving_to_another_class_closes_the_old_one_the_day_before(world):
    student = world.students["Алексеев"]
    student.class_unit = world.classes["5Б"]
    enrolment = sync_enrolment(student, today=D(2026, 11, 16))
    db.session.commit()
    assert history(student) == [("5А", D(2026, 9, 1), D(2026, 11, 15)), ("5Б", D(2026, 11, 16), None)]
    assert open_enrolment(student).id == enrolment.id
    assert db.session.get(Enrolment, enrolment.id).class_unit_id == world.classes["5Б"].id


def test_moving_on_to_a_class_of_the_next_year_ends_the_old_year(world):
    next_year = AcademicYear(school=world.school_a, name="2027/2028", start=D(2027, 9, 1), end=D(2028, 8, 31))
    grade6 = ClassUnit(school=world.school_a, year=next_year, grade=6, letter="А", period_kind=PeriodKind.quarter)
    db.session.add_all([next_year, grade6])
    db.session.flush()
    student = world.students["Алексеев"]
    student.class_unit = grade6
    sync_enrolment(student, today=D(2027, 6, 20))
    db.session.commit()
    assert history(student) == [("5А", D(2026, 9, 1), D(2027, 8, 31)), ("6А", D(2027, 9, 1), None)]


def test_leaving_school_closes_the_enrolment_on_the_leaving_day(world):
    student = world.students["Борисов"]
    student.left_on = D(2026, 12, 20)
    student.class_unit = None
    result = sync_enrolment(student, today=D(2027, 1, 15))
    db.session.commit()
    assert history(student) == [("5А", D(2026, 9, 1), D(2026, 12, 20))]
    assert result.end == D(2026, 12, 20)
    assert open_enrolment(student) is None


def test_leaving_without_a_date_closes_the_enrolment_today(world):
    student = world.students["Борисов"]
    student.class_unit = None
    sync_enrolment(student, today=D(2027, 2, 3))
    db.session.commit()
    assert history(student) == [("5А", D(2026, 9, 1), D(2027, 2, 3))]


def test_a_leaving_date_in_the_same_class_ends_the_open_enrolment(world):
    student = world.students["Борисов"]
    student.left_on = D(2027, 3, 1)
    sync_enrolment(student, today=D(2027, 2, 3))
    db.session.commit()
    assert history(student) == [("5А", D(2026, 9, 1), D(2027, 3, 1))]


def test_correcting_the_leaving_date_re_dates_the_closed_enrolment(world):
    student = world.students["Борисов"]
    student.left_on = D(2026, 12, 20)
    sync_enrolment(student, today=D(2026, 12, 20))
    db.session.commit()
    student.left_on = D(2026, 12, 25)  # the order said the 25th
    sync_enrolment(student, today=D(2027, 1, 15))
    db.session.commit()
    assert history(student) == [("5А", D(2026, 9, 1), D(2026, 12, 25))]


def test_clearing_a_leaving_date_set_by_mistake_reopens_the_enrolment(world):
    student = world.students["Борисов"]
    student.left_on = D(2026, 12, 20)
    sync_enrolment(student, today=D(2026, 12, 20))
    db.session.commit()
    student.left_on = None
    enrolment = sync_enrolment(student, today=D(2026, 12, 21))
    db.session.commit()
    assert history(student) == [("5А", D(2026, 9, 1), None)]
    assert open_enrolment(student).id == enrolment.id


def test_returning_after_leaving_opens_a_new_enrolment_after_the_gap(world):
    student = world.students["Борисов"]
    student.left_on = D(2026, 12, 20)
    student.class_unit = None
    sync_enrolment(student, today=D(2026, 12, 20))
    db.session.commit()
    student.left_on, student.class_unit, student.enrolled_on = None, world.classes["5А"], D(2027, 1, 12)
    sync_enrolment(student, today=D(2027, 1, 12))
    db.session.commit()
    assert history(student) == [("5А", D(2026, 9, 1), D(2026, 12, 20)), ("5А", D(2027, 1, 12), None)]


def test_the_other_students_are_not_touched(world):
    others = {name: history(s) for name, s in world.students.items() if name != "Алексеев"}
    student = world.students["Алексеев"]
    student.class_unit = world.classes["5Б"]
    sync_enrolment(student, today=D(2026, 11, 16))
    db.session.commit()
    assert {name: history(s) for name, s in world.students.items() if name != "Алексеев"} == others


def _student_form(world, **kw) -> dict:
    return {"school": str(world.school_a.id), "surname": "Новиков", "name": "Пётр", "patronymic": "Ильич",
            "birth_date": "2015-03-15", "class_unit": str(world.classes["5Б"].id), "enrolled_on": "2026-09-01", **kw}


def _find(surname: str, name: str) -> Student:
    db.session.expire_all()
    return db.session.scalar(select(Student).where(Student.surname == surname, Student.name == name))


def test_the_student_add_form_opens_the_enrolment_in_the_same_save(world, login_as):
    client = login_as("director")
    response = client.post("/studentview/add", data=_student_form(world), follow_redirects=True)
    assert response.status_code == 200
    assert "alert-danger" not in response.get_data(as_text=True)
    student = _find("Новиков", "Пётр")
    assert student is not None and student.class_unit.name == "5Б"
    assert history(student) == [("5Б", D(2026, 9, 1), None)]
    assert {e.school_id for e in student.enrolments} == {world.school_a.id}

    # A second student without a personal file number saves as well (no clash of empty numbers).
    response = client.post("/studentview/add", data=_student_form(world, name="Олег"), follow_redirects=True)
    assert "alert-danger" not in response.get_data(as_text=True)
    assert history(_find("Новиков", "Олег")) == [("5Б", D(2026, 9, 1), None)]


def test_the_student_edit_form_keeps_the_history_in_step(world, login_as):
    student = world.students["Борисов"]
    client = login_as("director")
    data = _student_form(world, surname="Борисов", name="Иван", patronymic="Иванович", birth_date="2015-03-15",
                         class_unit=str(world.classes["5А"].id), left_on="2027-03-01")
    response = client.post(f"/studentview/edit/{student.id}", data=data, follow_redirects=True)
    assert "alert-danger" not in response.get_data(as_text=True)
    assert history(student) == [("5А", D(2026, 9, 1), D(2027, 3, 1))]


def test_the_student_api_opens_the_enrolment_in_the_same_save(app, world, api_token):
    token = api_token("director")
    response = app.test_client().post("/api/v1/student/", json={
        "school": world.school_a.id, "surname": "Новиков", "name": "Пётр", "patronymic": "Ильич",
        "birth_date": "2015-03-15", "class_unit": world.classes["5А"].id, "enrolled_on": "2026-10-12",
    }, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 201, response.json
    student = db.session.get(Student, response.json["id"])
    assert history(student) == [("5А", D(2026, 10, 12), None)]


def test_a_refused_move_leaves_the_history_as_it_was(world, login_as):
    """A move to a class of another school is refused by the guard; the old enrolment stays open."""
    student = world.students["Алексеев"]
    client = login_as("director")
    data = _student_form(world, surname="Алексеев", name="Иван", patronymic="Иванович",
                         class_unit=str(world.classes["B5А"].id))
    client.post(f"/studentview/edit/{student.id}", data=data, follow_redirects=True)
    assert history(student) == [("5А", D(2026, 9, 1), None)]
    assert _find("Алексеев", "Иван").class_unit.name == "5А"
