"""The journal page runs a fixed number of SQL statements whatever the size of the class and the
number of lessons and marks (no N+1): counted with "before_cursor_execute" on the engine during
one GET /journal/grid, deterministic rather than timed."""
import pytest

from app.extensions import db
from app.models import Attendance, AttendanceCode, Enrolment, Lesson, Mark
from tests.grid_page import shown_marks
from tests.journal_helpers import HTTP_WEEK, add_lessons, add_students, period_of, statements, work_type

pytestmark = pytest.mark.usefixtures("isolated", "http_today")


def fill(world, cls: str, lessons: list[Lesson]) -> None:
    """A mark for every student of the class in every lesson, and an absence in the first one."""
    unit, wt = world.classes[cls], work_type(world)
    student_ids = db.session.scalars(db.select(Enrolment.student_id).where(Enrolment.class_unit_id == unit.id)).all()
    for lesson in lessons:
        for n, student_id in enumerate(student_ids):
            db.session.add(Mark(school_id=unit.school_id, lesson_id=lesson.id, student_id=student_id,
                                work_type_id=wt.id, value=1 + (n + lesson.id) % 5, author="teacher"))
    for student_id in student_ids:
        db.session.add(Attendance(school_id=unit.school_id, lesson_id=lessons[0].id, student_id=student_id,
                                  code=AttendanceCode.absent, author="teacher"))
    db.session.commit()


def statements_of(client, url: str) -> tuple[list[str], str]:
    """The SQL statements one GET runs, and the page."""
    with statements() as seen:
        response = client.get(url)
    assert response.status_code == 200
    return seen, response.get_data(as_text=True)


def grid_url(world, cls: str) -> str:
    return (f"/journal/grid?target=class_id&id={world.classes[cls].id}&subject={world.subjects['math'].id}"
            f"&period={period_of(world.year_a, 2).id}")


def test_the_grid_costs_the_same_for_5_and_35_students(world, login_as):
    add_students(world, "5А", 3)  # 2 + 3 = 5
    add_students(world, "5Б", 34)  # 1 + 34 = 35
    fill(world, "5А", add_lessons(world, *HTTP_WEEK, cls="5А"))
    fill(world, "5Б", add_lessons(world, *HTTP_WEEK, cls="5Б"))
    client = login_as("director")
    statements_of(client, grid_url(world, "5А"))  # warm-up: the first request of a login may load more
    small, small_page = statements_of(client, grid_url(world, "5А"))
    large, large_page = statements_of(client, grid_url(world, "5Б"))
    assert small_page.count("<tr data-student=") == 5 and large_page.count("<tr data-student=") == 35
    assert len(shown_marks(small_page)) == 25 and len(shown_marks(large_page)) == 175
    assert 5 < len(small) == len(large), "\n".join(large)


def test_a_teachers_grid_does_not_grow_with_students_lessons_and_marks(world, login_as):
    add_students(world, "5А", 3)
    fill(world, "5А", add_lessons(world, *HTTP_WEEK[:2]))
    client = login_as("teacher")
    statements_of(client, grid_url(world, "5А"))
    before, page = statements_of(client, grid_url(world, "5А"))
    assert page.count("<tr data-student=") == 5
    add_students(world, "5А", 30, prefix="Новичок")
    fill(world, "5А", add_lessons(world, *HTTP_WEEK[2:]))
    after, page = statements_of(client, grid_url(world, "5А"))
    assert page.count("<tr data-student=") == 35 and page.count('class="col-lesson') == 5
    assert len(before) == len(after), "\n".join(after)


def test_the_journal_switcher_does_not_grow_with_the_journals(world, login_as):
    """The grid lists the user's journals in its switcher: the director's grows with every class and
    subject of the school, the statements must not (one more subject taught to a class or a group)."""
    from app.models import StudyGroup, Subject
    from tests.factories import assign

    add_lessons(world, *HTTP_WEEK, cls="5А")
    group = StudyGroup(school=world.school_a, class_unit=world.classes["5Б"], name="1 подгруппа")

    def taught(*numbers):
        for n in numbers:
            assign(world.staff["teacher_b"], Subject(school=world.school_a, name=f"Предмет {n}"),
                   group if n % 2 else world.classes["5Б"])
        db.session.commit()

    taught(0, 1)
    client = login_as("director")
    statements_of(client, grid_url(world, "5А"))
    before, page = statements_of(client, grid_url(world, "5А"))
    taught(2, 3, 4, 5)
    after, page = statements_of(client, grid_url(world, "5А"))
    assert page.count("Предмет 5</option>") == 1
    assert len(before) == len(after), "\n".join(after)
