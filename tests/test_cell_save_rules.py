"""The cell save (`POST /journal/cell`) reads its rules' facts together (the lesson with the holidays of its
date, the student's enrolments with their membership and assessment mode, the cell with the work type): every
rule still refuses with its own message, field and nothing saved. The school clock is frozen on HTTP_TODAY."""
import pytest

from app.extensions import db
from app.models import AssessmentMode, AssessmentRule, AuditEvent, Holiday, Lesson, Mark, StudyGroup
from tests.factories import assign
from tests.journal_helpers import HTTP_WEEK, add_lessons, bell_slot, math_of, message, work_type

pytestmark = pytest.mark.usefixtures("isolated", "http_today")


def post_mark(client, lesson_id: int, student_id: int, work_type_id: int, value: int = 5):
    return client.post("/journal/cell", json={"kind": "mark", "lesson_id": lesson_id, "student_id": student_id,
                                              "work_type_id": work_type_id, "value": value, "seen": []})


def counts() -> tuple[int, int]:
    return (db.session.scalar(db.select(db.func.count(Mark.id))),
            db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.entity == "mark")))


def refused(save, expected: str) -> None:
    """A 422 with the rule's words, and no mark nor audit event written."""
    before = counts()
    response = save()
    assert response.status_code == 422, response.json
    assert response.json["error"] == expected
    assert counts() == before


def add_holiday(world, name: str, grade: int | None) -> None:
    db.session.add(Holiday(school=world.school_a, year=world.year_a, name=name, start=HTTP_WEEK[1],
                           end=HTTP_WEEK[1], grade=grade))
    db.session.commit()


def test_a_holiday_of_the_class_grade_refuses_the_save_another_grades_does_not(world, login_as):
    lesson, kid, wt = add_lessons(world, HTTP_WEEK[1])[0], world.students["Алексеев"], work_type(world)
    add_holiday(world, "Дополнительные каникулы 1 классов", 1)
    teacher = login_as("teacher")
    assert post_mark(teacher, lesson.id, kid.id, wt.id).status_code == 200
    db.session.execute(db.delete(Mark))
    db.session.commit()
    add_holiday(world, "Карантин 5 классов", 5)
    refused(lambda: post_mark(teacher, lesson.id, kid.id, wt.id, 4),
            message("%(day)s is a holiday (%(name)s).", day=f"{HTTP_WEEK[1]:%d.%m.%Y}", name="Карантин 5 классов"))


def test_a_student_not_taught_in_the_lesson_and_a_foreign_work_type_are_refused(world, login_as):
    lesson, wt = add_lessons(world, HTTP_WEEK[2])[0], work_type(world)
    teacher, not_taught = login_as("teacher"), message("The student is not taught in this lesson on %(day)s.",
                                                       day=f"{lesson.date:%d.%m.%Y}")
    other_class = [s for s in world.students.values() if s.class_unit_id != lesson.assignment.class_unit_id]
    for student in other_class:  # 5Б of the school and 5А of school B
        refused(lambda student=student: post_mark(teacher, lesson.id, student.id, wt.id), not_taught)
    refused(lambda: post_mark(teacher, lesson.id, world.students["Алексеев"].id, work_type(world, school="b").id),
            message("Choose a work type of the school."))


def test_a_group_lesson_takes_its_members_only_and_keeps_the_grades_assessment_rule(world, login_as):
    math = math_of(world, "5А")
    kid, classmate = world.students["Алексеев"], world.students["Борисов"]
    group = StudyGroup(school=world.school_a, class_unit=world.classes["5А"], name="1 группа", subject=math.subject,
                       students=[kid])
    lesson = Lesson(school_id=math.school_id, assignment=assign(math.teacher, math.subject, group), date=HTTP_WEEK[3],
                    bell_slot=bell_slot(world, 3), teacher_id=math.teacher_id)
    db.session.add(lesson)
    db.session.commit()
    wt, teacher = work_type(world), login_as("teacher")
    refused(lambda: post_mark(teacher, lesson.id, classmate.id, wt.id),
            message("The student is not taught in this lesson on %(day)s.", day=f"{lesson.date:%d.%m.%Y}"))
    db.session.add(AssessmentRule(school=world.school_a, grade=5, subject=math.subject, mode=AssessmentMode.pass_fail))
    db.session.commit()
    refused(lambda: post_mark(teacher, lesson.id, kid.id, wt.id),
            message("%(subject)s in grade %(grade)s is assessed pass/fail: 1–5 marks are not given.",
                    subject=math.subject.name, grade=5))
    db.session.execute(db.delete(AssessmentRule))
    db.session.commit()
    assert post_mark(teacher, lesson.id, kid.id, wt.id).json["cell"]["value"] == 5
