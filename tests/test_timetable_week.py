"""Issue 18 p.1: the weekly grid of a class, a teacher and a room (/timetable/), with each lesson's time,
links to open or edit it, and the week as PDF; scoped like the rest (a teacher sees their own week and
lessons, the class teacher the whole week of their class)."""
import datetime as dt
import io
import re

import pytest
from pypdf import PdfReader

from app.extensions import db
from app.models import Lesson
from tests.journal_helpers import bell_slot, math_of, staff_of

pytestmark = pytest.mark.usefixtures("http_today")
MON, TUE = dt.date(2026, 11, 16), dt.date(2026, 11, 17)


@pytest.fixture
def lessons(world):
    """5А mathematics on Monday (slot 1, room 12), 5Б mathematics on Tuesday (slot 2, room 14)."""
    out = []
    for cls, day, slot, room in (("5А", MON, 1, "12"), ("5Б", TUE, 2, "14")):
        a = math_of(world, cls)
        out.append(Lesson(school_id=a.school_id, assignment=a, date=day, bell_slot=bell_slot(world, slot),
                          teacher_id=a.teacher_id, room=room, topic=""))
    db.session.add_all(out)
    db.session.commit()
    return out


def page(client, url: str) -> tuple[int, str]:
    response = client.get(url)
    return response.status_code, response.get_data(as_text=True)


def test_the_class_week_shows_its_lessons_with_their_times_and_links(world, lessons, login_as):
    a5, b5 = lessons
    status, html = page(login_as("director"), f"/timetable/week?class={world.classes['5А'].id}&week=2026-11-18")
    assert status == 200
    assert f'data-lesson="{a5.id}"' in html and f'data-lesson="{b5.id}"' not in html
    assert "08:30–09:15" in html and "Математика" in html and f"/lessonview/edit/{a5.id}" in html
    assert "16.11.2026 – 20.11.2026" in html
    status, html = page(login_as("director"), f"/timetable/week?class={world.classes['5А'].id}&week=2026-11-25")
    assert status == 200 and 'data-lesson="' not in html  # the next week has no lesson


def test_teacher_and_room_weeks(world, lessons, login_as):
    a5, b5 = lessons
    director = login_as("director")
    status, html = page(director, f"/timetable/week?teacher={staff_of('teacher_b').id}&week=2026-11-16")
    assert status == 200 and f'data-lesson="{b5.id}"' in html and f'data-lesson="{a5.id}"' not in html
    status, html = page(director, "/timetable/week?room=12&week=2026-11-16")
    assert status == 200 and f'data-lesson="{a5.id}"' in html and f'data-lesson="{b5.id}"' not in html
    status, html = page(director, "/timetable/")
    assert status == 200 and "/timetable/week?room=12" in html and "/timetable/week?class=" in html


def test_teachers_see_their_own_week_and_the_class_teacher_the_class(world, lessons, login_as):
    a5, b5 = lessons
    teacher = login_as("teacher")
    status, html = page(teacher, f"/timetable/week?teacher={staff_of('teacher').id}&week=2026-11-16")
    assert status == 200 and f'data-lesson="{a5.id}"' in html
    assert page(teacher, f"/timetable/week?teacher={staff_of('teacher_b').id}")[0] == 404
    status, html = page(teacher, "/timetable/week?room=14&week=2026-11-16")
    assert f'data-lesson="{b5.id}"' not in html  # not their lesson
    status, html = page(login_as("classteacher"), f"/timetable/week?class={world.classes['5А'].id}&week=2026-11-16")
    assert status == 200 and f'data-lesson="{a5.id}"' in html  # taught by `teacher`, in their class
    assert page(teacher, "/timetable/week?school=1")[0] == 404


def test_the_week_prints_as_a_pdf(world, lessons, login_as):
    response = login_as("director").get(f"/timetable/pdf?class={world.classes['5А'].id}&week=2026-11-16")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    text = PdfReader(io.BytesIO(response.data)).pages[0].extract_text()
    assert "5А" in text and "Математика" in text and "08:30" in text


def test_a_lesson_change_starts_from_the_week_with_its_lesson_chosen(world, lessons, login_as):
    """The week, not the year's drop-down of lessons, is how a lesson is found: each lesson links to the
    change form with that lesson chosen; an id that is no lesson of the user's is refused."""
    a5, _b5 = lessons
    director = login_as("director")
    status, html = page(director, f"/timetable/week?class={world.classes['5А'].id}&week=2026-11-16")
    link = f"/lessonchangeview/add?lesson={a5.id}"
    assert status == 200 and link in html
    status, form = page(director, link)
    chosen = re.search(r'<select[^>]*name="lesson".*?</select>', form, re.S)[0]
    assert status == 200 and re.findall(r'<option selected value="(\d+)"', chosen) == [str(a5.id)]
    unasked = re.search(r'<select[^>]*name="lesson".*?</select>', page(director, "/lessonchangeview/add")[1], re.S)[0]
    assert not re.findall(r'<option selected value="(\d+)"', unasked)  # nothing chosen unasked
    assert page(director, "/lessonchangeview/add?lesson=abc")[0] == 400
    assert page(director, "/lessonchangeview/add?lesson=987654")[0] == 404


def test_a_week_that_is_no_date_is_a_clear_error(world, lessons, login_as):
    """`?week=` must be a date: anything else is a 400 saying how to write it, not silently this week."""
    director = login_as("director")
    for bad in ("2026-13-01", "16.11.2026", "завтра"):
        for path in ("/timetable/week", "/timetable/pdf"):
            status, html = page(director, f"{path}?class={world.classes['5А'].id}&week={bad}")
            assert status == 400 and "Укажите дату в формате ГГГГ-ММ-ДД." in html, (path, bad)
