"""Issue 14 p.1: a closed period is frozen on every path. Every write route of the URL map for the frozen
models (pages: add, edit, delete, actions; REST: POST, PUT, DELETE) and the JSON endpoints is tried with
a row of the closed first quarter, as the deployment admin and as the lessons' teacher: each answer is
the refusal naming the period (or, for the teacher, no permission at all), and no table changed."""
import json
import re

import pytest

from app.extensions import db
from app.models import (
    Attendance,
    ControlWorkPlan,
    CurriculumItem,
    Enrolment,
    FinalGrade,
    Lesson,
    LessonChange,
    Mark,
    Recommendation,
    Stream,
    StudyGroup,
)
from tests.freeze_helpers import Q1_MONDAY, Q1_THURSDAY, Q2_MONDAY, changed_tables, snapshot, write_routes
from tests.journal_helpers import bell_slot, math_of, message, period_of, staff_of, work_type

pytestmark = pytest.mark.usefixtures("http_today")

FROZEN_MODELS = (Lesson, LessonChange, Mark, Attendance, ControlWorkPlan, Recommendation, FinalGrade, Enrolment,
                 StudyGroup, Stream, CurriculumItem)
# The group and stream APIs do not write memberships (no `students` column): creating or renaming a group
# there touches no closed period; their DELETE (which drops the memberships) is walked.
NOT_FROZEN_BY_DESIGN = {("StudyGroupApi.post", "POST"), ("StudyGroupApi.put", "PUT"),
                        ("StreamApi.post", "POST"), ("StreamApi.put", "PUT")}


def _day(day) -> str:
    return day.isoformat()


def attempts(world, f) -> list[tuple[str, str, str, dict | None, dict | None]]:
    """(endpoint, method, url, form, json) of every write of a closed-quarter row."""
    math, alekseev, borisov = math_of(world), world.students["Алексеев"], world.students["Борисов"]
    a5, q1, slot = world.classes["5А"], f.period, bell_slot(world)
    answer = work_type(world, "Ответ на уроке", 1)
    teacher = staff_of("teacher")
    ui_add = {
        "LessonView": {"assignment": math.id, "date": _day(Q1_THURSDAY), "bell_slot": slot.id, "teacher": teacher.id,
                       "room": "12", "topic": "Новый урок", "lesson_type": "regular", "homework": "№ 1"},
        "ControlWorkPlanView": {"assignment": math.id, "date": _day(Q1_MONDAY), "kind": "test", "topic": "Тест"},
        "RecommendationView": {"student": borisov.id, "subject": math.subject_id, "text": "Читать",
                               "date": _day(Q1_MONDAY)},
        "EnrolmentView": {"student": f.newcomer.id, "class_unit": a5.id, "start": "2026-10-01"},
        "StudyGroupView": {"class_unit": a5.id, "name": "2 группа", "subject": math.subject_id,
                           "students": [borisov.id]},
        "StreamView": {"year": world.year_a.id, "name": "Второй поток", "students": [borisov.id]},
        "CurriculumItemView": {"class_unit": world.classes["5Б"].id, "subject": math.subject_id, "period": q1.id,
                               "weekly_hours": "4", "planned_hours": "30"},
    }
    ui_edit = {
        "LessonView": (f.lesson.id, {"topic": "Другая тема", "lesson_type": "control_work", "status": "held",
                                     "room": "12", "homework": "№ 2"}),
        "ControlWorkPlanView": (f.control_work.id, {"assignment": math.id, "date": _day(Q1_THURSDAY),
                                                    "kind": "control_work", "topic": "Другая"}),
        "RecommendationView": (f.recommendation.id, {"student": alekseev.id, "subject": math.subject_id,
                                                     "text": "Другая", "date": _day(Q1_MONDAY)}),
        "EnrolmentView": (f.enrolment.id, {"student": alekseev.id, "class_unit": a5.id, "start": "2026-09-01",
                                           "end": "2026-10-10"}),
        "StudyGroupView": (f.group.id, {"class_unit": a5.id, "name": "1 группа", "subject": math.subject_id}),
        "StreamView": (f.stream.id, {"year": world.year_a.id, "name": "Поток олимпиадников"}),
        "CurriculumItemView": (f.curriculum.id, {"class_unit": a5.id, "subject": math.subject_id, "period": q1.id,
                                                 "weekly_hours": "5", "planned_hours": "39"}),
    }
    pks = {"LessonView": f.changed_lesson.id, "ControlWorkPlanView": f.control_work.id,
           "RecommendationView": f.recommendation.id, "EnrolmentView": f.enrolment.id, "StudyGroupView": f.group.id,
           "StreamView": f.stream.id, "CurriculumItemView": f.curriculum.id}
    out = []
    school = {"school": world.school_a.id}  # the admin's forms name the school (others default to their own)
    with_school = ("EnrolmentView", "StudyGroupView", "StreamView", "CurriculumItemView")
    for view, form in ui_add.items():
        out.append((f"{view}.add", "POST", f"/{view.lower()}/add", {**form, **school} if view in with_school else form,
                    None))
    for view, (pk, form) in ui_edit.items():
        out.append((f"{view}.edit", "POST", f"/{view.lower()}/edit/{pk}",
                    {**form, **school} if view in with_school else form, None))
    for view, pk in pks.items():
        out.append((f"{view}.delete", "POST", f"/{view.lower()}/delete/{pk}", None, None))
    out += [
        ("LessonChangeView.add", "POST", "/lessonchangeview/add",
         {"lesson": f.lesson.id, "kind": "cancellation", "reason": "карантин"}, None),
        ("LessonChangeView.add", "POST", "/lessonchangeview/add",  # an open lesson moved into the closed quarter
         {"lesson": f.open_lesson.id, "kind": "rescheduling", "new_date": _day(Q1_THURSDAY),
          "new_slot": bell_slot(world, 2).id, "reason": "перенос"}, None),
    ]
    api = {
        "lesson": ({"assignment": math.id, "date": _day(Q1_THURSDAY), "bell_slot": slot.id, "teacher": teacher.id,
                    "topic": "API", "lesson_type": "regular", "status": "planned"},
                   f.lesson.id, {"topic": "API", "lesson_type": "control_work"}),
        "recommendation": ({"teacher": teacher.id, "student": borisov.id, "subject": math.subject_id, "text": "API",
                            "date": _day(Q1_MONDAY)}, f.recommendation.id, {"text": "API"}),
        "mark": ({"lesson": f.lesson.id, "student": borisov.id, "work_type": answer.id, "value": 4},
                 f.mark.id, {"value": 3, "version": 1}),
        "attendance": ({"lesson": f.lesson.id, "student": alekseev.id, "code": "Н"},
                       f.attendance.id, {"code": "УП", "version": 1}),
        "finalgrade": ({"student": borisov.id, "subject": math.subject_id, "period": q1.id, "value": "4"},
                       f.final.id, {"value": "4", "version": 1}),
        "enrolment": ({"school": world.school_a.id, "student": f.newcomer.id,
                       "class_unit": a5.id, "start": "2026-10-01"},
                      f.enrolment.id, {"end": "2026-10-10"}),
        "studygroup": (None, f.group.id, None),
        "stream": (None, f.stream.id, None),
        "curriculumitem": ({"school": world.school_a.id, "class_unit": world.classes["5Б"].id,
                            "subject": math.subject_id, "period": q1.id,
                            "weekly_hours": 4, "planned_hours": 30}, f.curriculum.id, {"planned_hours": 39}),
    }
    names = {"lesson": "LessonApi", "recommendation": "RecommendationApi", "mark": "MarkApi",
             "attendance": "AttendanceApi", "finalgrade": "FinalGradeApi", "enrolment": "EnrolmentApi",
             "studygroup": "StudyGroupApi", "stream": "StreamApi", "curriculumitem": "CurriculumItemApi"}
    for name, (post, pk, put) in api.items():
        if post is not None:
            out.append((f"{names[name]}.post", "POST", f"/api/v1/{name}/", None, post))
        if put is not None:
            out.append((f"{names[name]}.put", "PUT", f"/api/v1/{name}/{pk}", None, put))
        if name != "finalgrade":  # a lesson with marks is refused for them: delete the one with a change only
            gone = f.changed_lesson.id if name == "lesson" else pk
            out.append((f"{names[name]}.delete", "DELETE", f"/api/v1/{name}/{gone}", None, None))
    journal = {"target": "class_id", "id": a5.id, "subject": math.subject_id, "period": q1.id}
    out += [
        ("JournalView.save_cell", "POST", "/journal/cell", None,
         {"kind": "mark", "lesson_id": f.lesson.id, "student_id": borisov.id, "work_type_id": answer.id, "value": 2}),
        ("JournalView.save_cell", "POST", "/journal/cell", None,
         {"kind": "attendance", "lesson_id": f.lesson.id, "student_id": borisov.id, "code": None, "version": 1}),
        ("JournalView.save_lesson", "POST", f"/journal/lesson/{f.lesson.id}", None, {"topic": "Из журнала"}),
        ("FinalsView.save", "POST", "/finals/save", {**journal, f"value_{alekseev.id}": "4",
                                                     f"version_{alekseev.id}": "1"}, None),
        ("FinalsView.propose", "POST", "/finals/propose", journal, None),
        ("FinalsView.defer", "POST", "/finals/defer", {**journal, "student": borisov.id, "reason": "болезнь",
                                                       "deadline": "2026-12-20"}, None),
    ]
    return out


def test_the_walk_covers_every_write_route_of_the_frozen_models(app, world, frozen):
    planned = {(endpoint, method) for endpoint, method, *_ in attempts(world, frozen)}
    missing = write_routes(app, FROZEN_MODELS) - planned - NOT_FROZEN_BY_DESIGN
    assert not missing, sorted(missing)


def _said(text: str) -> str:
    """The flashed messages of a page (or the start of a JSON answer), for a readable failure."""
    found = re.findall(r'<div class="alert[^>]*>(.*?)</div>', text, re.S)
    return " | ".join(" ".join(m.split()) for m in found) if found else " ".join(text.split())[:200]


def _text(response) -> str:
    if response.is_json:
        return json.dumps(response.json, ensure_ascii=False)
    return response.get_data(as_text=True)


# Refusals that come before the freeze for a user who may not write the row at all.
OTHER_REFUSALS = {("admin", "RecommendationView.add"): "Only staff members write recommendations.",
                  ("teacher", "FinalsView.defer"): "Only the administration defers a final."}


@pytest.mark.parametrize("who", ["admin", "director", "teacher"])
@pytest.mark.usefixtures("isolated")
def test_every_write_of_a_closed_quarter_row_is_refused_and_changes_nothing(app, world, frozen,
                                                                           login_as, api_token, who):
    expected = frozen.message()
    attempts_ = attempts(world, frozen)
    page, token = login_as(who), api_token(who)
    before = snapshot()
    failures = []
    for endpoint, method, url, form, body in attempts_:
        if url.startswith("/api/"):
            response = app.test_client().open(url, method=method, json=body,
                                              headers={"Authorization": f"Bearer {token}"})
        elif body is not None:
            response = page.open(url, method=method, json=body)
        else:
            response = page.open(url, method=method, data=form, follow_redirects=True)
        text = _text(response)
        other = OTHER_REFUSALS.get((who, endpoint))
        allowed = (who == "teacher" and response.status_code in (403, 404)) or (other and message(other) in text)
        if not allowed and expected not in text:
            failures.append(f"{endpoint} {method} {url}: {response.status_code} {_said(text)}")
        after = snapshot()
        if changed_tables(before, after):
            failures.append(f"{endpoint} {method} {url}: changed {changed_tables(before, after)}")
            before = after
    assert not failures, "\n".join(failures)
    db.session.expire_all()


def test_the_journal_api_shows_closed_lessons_read_only(app, world, frozen, api_token):
    token = api_token("teacher")
    response = app.test_client().get(
        f"/api/v1/journal/?class_id={world.classes['5А'].id}&subject_id={world.subjects['math'].id}"
        f"&period_id={frozen.period.id}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.json
    lessons = response.json["lessons"] if "lessons" in response.json else response.json["result"]["lessons"]
    assert lessons and all(not lesson["editable"] for lesson in lessons)
    q2 = period_of(world.year_a, 2)
    response = app.test_client().get(
        f"/api/v1/journal/?class_id={world.classes['5А'].id}&subject_id={world.subjects['math'].id}"
        f"&period_id={q2.id}", headers={"Authorization": f"Bearer {token}"})
    body = response.json.get("result", response.json)
    assert [lesson["editable"] for lesson in body["lessons"]] == [True]
    assert body["lessons"][0]["date"] == Q2_MONDAY.isoformat()


@pytest.mark.usefixtures("isolated")
@pytest.mark.parametrize("url, body", [
    ("/api/v1/enrolment/{enrolment}", {"end": "2026-10-10"}),  # a leaving date moved into the closed quarter
    ("/api/v1/student/{student}", {"left_on": "2026-10-10"}),  # the same through the student's record
])
def test_the_registrar_cannot_move_a_leaving_date_into_a_closed_quarter(app, world, frozen, api_token,
                                                                        url, body):
    headers = {"Authorization": f"Bearer {api_token('registrar')}"}
    before = snapshot()
    response = app.test_client().put(url.format(enrolment=frozen.enrolment.id,
                                                student=world.students["Алексеев"].id), json=body, headers=headers)
    assert response.status_code == 422 and response.json["message"] == frozen.message()
    assert changed_tables(before, snapshot()) == []
