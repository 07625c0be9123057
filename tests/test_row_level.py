"""Row-level scope: a teacher sees their own classes, a school's staff only their school, everywhere.

Lists (UI and API), tampered show/edit/delete URLs, related-field choices of add, edit and search
forms, and writes that name a row the user may not see.
"""
from flask_appbuilder import ModelView
from flask_appbuilder.api import ModelRestApi
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import select

from app.extensions import db
from app.models import (
    ClassUnit,
    Enrolment,
    Guardian,
    School,
    Staff,
    Student,
    StudentGuardian,
    Subject,
    TeachingAssignment,
)
from app.security.permissions import CAN_READ, CAN_WRITE
from tests.journal_helpers import count
from tests.security_helpers import (
    bearer,
    changed_tables,
    field_errors,
    granted,
    listed_pks,
    may,
    role_names,
    select_options,
    snapshot,
)

SCHOOL_A_STAFF = ("director", "registrar", "auditor", "teacher", "classteacher", "teacher_b")
# The classes each login may see; students, enrolments and assignments follow their classes.
CLASSES = {
    "admin": {"5А", "5Б", "B5А"},
    "director": {"5А", "5Б"}, "registrar": {"5А", "5Б"}, "auditor": {"5А", "5Б"},
    "teacher": {"5А"}, "classteacher": {"5А"}, "teacher_b": {"5Б"},
    "teacher_other": {"B5А"}, "director_b": {"B5А"},
}
# Legal representatives: the class teacher only those of the own class, nobody those of another school.
GUARDIANS = {
    "admin": {"Алексеева", "Васильева"},
    "director": {"Алексеева", "Васильева"}, "registrar": {"Алексеева", "Васильева"},
    "auditor": {"Алексеева", "Васильева"}, "classteacher": {"Алексеева"}, "director_b": set(),
}


def _views(app, model):
    """(UI route, API route, resource) of the model's ModelView and REST API."""
    ui = api = None
    for view in app.appbuilder.baseviews:
        if isinstance(view, ModelView) and getattr(view.datamodel, "obj", None) is model:
            ui = view
        elif isinstance(view, ModelRestApi) and getattr(view.datamodel, "obj", None) is model:
            api = view
    assert ui is not None and api is not None, model
    return ui.route_base, api.route_base, api.class_permission_name


def _ids(model, *where) -> set[int]:
    db.session.expire_all()
    return set(db.session.scalars(select(model.id).where(*where)))


def _expected(world, username: str) -> dict:
    """Model → ids the login must see in lists (None: no read permission, not checked here)."""
    class_ids = {world.classes[name].id for name in CLASSES[username]}
    student_ids = {s.id for s in world.students.values() if s.class_unit_id in class_ids}
    school = world.school_b if username in ("teacher_other", "director_b") else world.school_a
    schools = {world.school_a.id, world.school_b.id} if username == "admin" else {school.id}
    guardian_ids = {world.guardians[n].id for n in GUARDIANS[username]} if username in GUARDIANS else None
    return {
        ClassUnit: class_ids,
        Student: student_ids,
        Enrolment: _ids(Enrolment, Enrolment.student_id.in_(student_ids)),
        TeachingAssignment: _ids(TeachingAssignment, TeachingAssignment.class_unit_id.in_(class_ids)),
        School: schools,
        Staff: _ids(Staff, Staff.school_id.in_(schools)),
        Subject: _ids(Subject, Subject.school_id.in_(schools)),
        Guardian: guardian_ids,
        StudentGuardian: None if guardian_ids is None else _ids(
            StudentGuardian, StudentGuardian.guardian_id.in_(guardian_ids)),
    }


def test_lists_show_only_rows_in_scope(app, world, login_as, api_token):
    """UI list pages and API lists return exactly the rows of each login's classes or school."""
    api, wrong = app.test_client(), []
    for username in CLASSES:
        ui, headers = login_as(username), bearer(api_token(username))
        grants = granted(role_names(username))
        for model, want in _expected(world, username).items():
            ui_route, api_route, resource = _views(app, model)
            if not may(grants, CAN_READ, resource):
                continue  # the role may not read it at all (test_permissions checks the 403)
            assert want is not None, f"{username} may read {resource}: add the rows expected to the table"
            got = listed_pks(ui.get(f"{ui_route}/list/").get_data(as_text=True), ui_route)
            if got != want:
                wrong.append(f"{username}: UI {ui_route}/list/ {sorted(got)}, expected {sorted(want)}")
            response = api.get(f"{api_route}/?q=(page_size:100)", headers=headers)
            got = set(response.json["ids"]) if response.status_code == 200 else response.status_code
            if got != want or response.json["count"] != len(want):
                wrong.append(f"{username}: API {api_route}/ {got}, expected {sorted(want)}")
    assert not wrong, "\n".join(wrong)


def test_teacher_jwt_lists_only_own_classes(app, world, api_token):
    """The issue's curl check: GET /api/v1/classunit/ with a teacher's token."""
    client = app.test_client()
    for username in ("teacher", "classteacher"):
        body = client.get("/api/v1/classunit/", headers=bearer(api_token(username))).json
        assert body["count"] == 1, username
        assert body["ids"] == [world.classes["5А"].id], username
        row = body["result"][0]
        assert (row["grade"], row["letter"], row["school"]["id"]) == (5, "А", world.school_a.id)


def _foreign_rows(world, username: str) -> list[tuple[type, int, str]]:
    """(model, pk, text that must not be shown) of rows outside the login's scope."""
    def ta(cls):
        return db.session.scalar(select(TeachingAssignment.id).where(TeachingAssignment.class_unit_id == cls.id))

    def enrolment(student):
        return db.session.scalar(select(Enrolment.id).where(Enrolment.student_id == student.id))

    def sg(guardian):
        return db.session.scalar(select(StudentGuardian.id).where(StudentGuardian.guardian_id == guardian.id))

    s, c, g = world.students, world.classes, world.guardians
    other_class = [(ClassUnit, c["5Б"].id, "5Б"), (Student, s["Васильев"].id, "Васильев"),
                   (TeachingAssignment, ta(c["5Б"]), "5Б"), (Enrolment, enrolment(s["Васильев"]), "Васильев")]
    school_b = [(ClassUnit, c["B5А"].id, "5А"), (Student, s["Гаврилов"].id, "Гаврилов"),
                (TeachingAssignment, ta(c["B5А"]), "Чужова"), (Enrolment, enrolment(s["Гаврилов"]), "Гаврилов"),
                (Subject, world.subjects["math_b"].id, "Математика"), (School, world.school_b.id, "Школа Б"),
                (Staff, world.staff["teacher_other"].id, "Чужова")]
    school_a = [(ClassUnit, c["5А"].id, "5А"), (Student, s["Алексеев"].id, "Алексеев"),
                (Guardian, g["Алексеева"].id, "Алексеева"), (StudentGuardian, sg(g["Алексеева"]), "Алексеев"),
                (School, world.school_a.id, "Школа А"), (Staff, world.staff["director"].id, "Directorова")]
    return {
        "teacher": other_class,
        "classteacher": other_class + [(Guardian, g["Васильева"].id, "Васильева"),
                                       (StudentGuardian, sg(g["Васильева"]), "Васильев")],
        "director": school_b,
        "registrar": school_b,
        "director_b": school_a,
    }[username]


def test_tampered_urls_find_nothing_and_change_nothing(app, world, login_as, api_token):
    """show/edit/delete of a hidden row by its pk: 404 where the role may act, 403 where it may not."""
    api, wrong = app.test_client(), []
    before = snapshot()
    for username in ("teacher", "classteacher", "director", "registrar", "director_b"):
        ui, headers = login_as(username), bearer(api_token(username))
        grants = granted(role_names(username))
        for model, pk, text in _foreign_rows(world, username):
            ui_route, api_route, resource = _views(app, model)
            attempts = [
                (CAN_READ, ui, "GET", f"{ui_route}/show/{pk}", {}),
                (CAN_WRITE, ui, "GET", f"{ui_route}/edit/{pk}", {}),
                (CAN_WRITE, ui, "POST", f"{ui_route}/edit/{pk}", {"data": {"surname": "Взлом", "name": "Взлом"}}),
                (CAN_WRITE, ui, "POST", f"{ui_route}/delete/{pk}", {}),
                (CAN_READ, api, "GET", f"{api_route}/{pk}", {"headers": headers}),
                (CAN_WRITE, api, "PUT", f"{api_route}/{pk}", {"headers": headers, "json": {"surname": "Взлом"}}),
                (CAN_WRITE, api, "DELETE", f"{api_route}/{pk}", {"headers": headers}),
            ]
            for permission, client, http, url, kwargs in attempts:
                response = client.open(url, method=http, **kwargs)
                want = 404 if may(grants, permission, resource) else 403
                if response.status_code != want:
                    wrong.append(f"{username}: {http} {url} → {response.status_code}, expected {want}")
                elif want == 404 and text in response.get_data(as_text=True):
                    wrong.append(f"{username}: {http} {url} shows «{text}»")
    assert not wrong, "\n".join(wrong)
    assert changed_tables(before, snapshot()) == []


def test_admin_opens_rows_of_both_schools(app, world, login_as):
    client = login_as("admin")
    for cls in ("5А", "B5А"):
        assert client.get(f"/classunitview/show/{world.classes[cls].id}").status_code == 200
    page = client.get(f"/studentview/show/{world.students['Гаврилов'].id}").get_data(as_text=True)
    assert "Гаврилов" in page


def _school_rows(world, model, school) -> set[str]:
    """Ids (as option values) of the model's rows that belong to the school."""
    if model is School:
        return {str(school.id)}
    if model is User:
        other = Staff.school_id == school.id
        return {str(i) for i in db.session.scalars(select(Staff.user_id).where(other, Staff.user_id.is_not(None)))}
    return {str(i) for i in db.session.scalars(select(model.id).where(model.school_id == school.id))}


def test_add_and_edit_forms_offer_no_rows_of_another_school(app, world, login_as):
    """Every related-field <select> of every add form of director_b lists nothing of school A."""
    client = login_as("director_b")
    admin_id = str(app.appbuilder.sm.find_user(username="admin").id)
    wrong, checked = [], 0
    for view in app.appbuilder.baseviews:
        if not (isinstance(view, ModelView) and type(view).__module__.startswith("app.")):
            continue
        options = select_options(client.get(f"{view.route_base}/add").get_data(as_text=True))
        for column in view.add_columns:
            if not view.datamodel.is_relation(column):
                continue
            model = view.datamodel.get_related_model(column)
            offered = options.get(column, set())
            foreign = _school_rows(world, model, world.school_a) | ({admin_id} if model is User else set())
            if offered & foreign:
                wrong.append(f"{view.route_base}/add {column}: offers {sorted(offered & foreign)} of school A")
            checked += 1
    assert not wrong, "\n".join(wrong)
    assert checked > 20
    student_form = select_options(client.get("/studentview/add").get_data(as_text=True))
    assert student_form["class_unit"] == {str(world.classes["B5А"].id)}
    assert student_form["school"] == {str(world.school_b.id)}
    assignment_form = select_options(client.get("/teachingassignmentview/add").get_data(as_text=True))
    assert assignment_form["teacher"] == {str(world.staff[n].id) for n in ("teacher_other", "director_b")}
    edit_form = select_options(
        client.get(f"/studentview/edit/{world.students['Гаврилов'].id}").get_data(as_text=True))
    assert edit_form["class_unit"] == {str(world.classes["B5А"].id)}


def test_staff_form_offers_only_logins_of_the_school(app, world, login_as):
    """The «user» choices: logins of the school's staff, never another school's or the admin's."""
    for username, school in (("director", world.school_a), ("director_b", world.school_b)):
        offered = select_options(login_as(username).get("/staffview/add").get_data(as_text=True))["user"]
        assert offered == _school_rows(world, User, school)


def test_search_forms_offer_only_rows_in_scope(app, world, login_as):
    """The list page's filter widgets (class, student, guardian) list only visible rows."""
    teacher = select_options(login_as("teacher").get("/studentview/list/").get_data(as_text=True))
    assert teacher["class_unit"] == {str(world.classes["5А"].id)}
    page = login_as("classteacher").get("/studentguardianview/list/").get_data(as_text=True)
    options = select_options(page)
    assert options["student"] == {str(world.students[n].id) for n in ("Алексеев", "Борисов")}
    assert options["guardian"] == {str(world.guardians["Алексеева"].id)}
    director = select_options(login_as("director").get("/classunitview/list/").get_data(as_text=True))
    assert director["school"] == {str(world.school_a.id)}


def test_api_info_offers_only_rows_in_scope(app, world, api_token):
    """GET /api/v1/<resource>/_info lists related choices: only rows the user may see."""
    client = app.test_client()
    info = client.get("/api/v1/student/_info", headers=bearer(api_token("teacher"))).json
    values = {f["name"]: {v["id"] for v in f["values"]} for f in info["add_columns"] if "values" in f}
    assert values == {"school": {world.school_a.id}, "class_unit": {world.classes["5А"].id}}
    info = client.get("/api/v1/teachingassignment/_info", headers=bearer(api_token("director_b"))).json
    values = {f["name"]: {v["id"] for v in f["values"]} for f in info["edit_columns"] if "values" in f}
    assert values["teacher"] == {world.staff[n].id for n in ("teacher_other", "director_b")}
    assert values["class_unit"] == {world.classes["B5А"].id}


def _new_student(world, cls) -> dict:
    return {"school": world.school_a.id, "surname": "Новиков", "name": "Пётр", "patronymic": "Ильич",
            "birth_date": "2015-02-01", "class_unit": cls.id, "enrolled_on": "2026-09-01"}


def _new_assignment(world, teacher) -> dict:
    return {"school": world.school_a.id, "year": world.year_a.id, "teacher": teacher.id,
            "subject": world.subjects["math"].id, "class_unit": world.classes["5Б"].id, "weekly_hours": 2}


def test_api_write_naming_a_foreign_row_is_refused(app, world, api_token):
    """A body with school B's class or school is a 422 with a readable message; nothing is saved."""
    client = app.test_client()
    before = snapshot()
    for username in ("director", "registrar"):
        headers = bearer(api_token(username))
        response = client.post("/api/v1/student/", json=_new_student(world, world.classes["B5А"]), headers=headers)
        assert (response.status_code, response.json["message"]) == (
            422, f"Запись «#{world.classes['B5А'].id}» вам недоступна."), username
        response = client.post("/api/v1/student/", json={**_new_student(world, world.classes["5А"]),
                                                         "school": world.school_b.id}, headers=headers)
        assert (response.status_code, response.json["message"]) == (422, "Запись относится к другой школе.")
    assert changed_tables(before, snapshot()) == []
    # The same body with the own class is accepted: the refusal was about the foreign row.
    response = client.post("/api/v1/student/", json=_new_student(world, world.classes["5А"]),
                           headers=bearer(api_token("registrar")))
    assert response.status_code == 201, response.json
    assert count(Student) == 5


def test_api_assignment_with_another_schools_teacher_is_refused(app, world, api_token):
    client, headers = app.test_client(), bearer(api_token("director"))
    before = snapshot()
    response = client.post("/api/v1/teachingassignment/", headers=headers,
                           json=_new_assignment(world, world.staff["teacher_other"]))
    assert response.status_code == 422
    assert response.json["message"] == f"Запись «#{world.staff['teacher_other'].id}» вам недоступна."
    assert changed_tables(before, snapshot()) == []
    response = client.post("/api/v1/teachingassignment/", headers=headers,
                           json=_new_assignment(world, world.staff["classteacher"]))
    assert response.status_code == 201, response.json
    assert count(TeachingAssignment) == 4


def test_form_naming_a_foreign_row_is_refused(app, world, login_as):
    """UI forms reject school B's class, teacher or school with a message at the field; nothing is saved."""
    client = login_as("director")
    before = snapshot()
    student = {k: v for k, v in _new_student(world, world.classes["B5А"]).items() if k != "school"}
    errors = field_errors(client.post("/studentview/add", data=student).get_data(as_text=True))
    assert errors == {"class_unit": "Недопустимое значение"}
    assignment = {k: v for k, v in _new_assignment(world, world.staff["teacher_other"]).items() if k != "school"}
    errors = field_errors(client.post("/teachingassignmentview/add", data=assignment).get_data(as_text=True))
    assert list(errors) == ["teacher"]
    assignment["teacher"] = world.staff["classteacher"].id
    errors = field_errors(client.post("/teachingassignmentview/add", data={**assignment, "school": world.school_b.id})
                          .get_data(as_text=True))
    assert errors == {"school": "Недопустимое значение"}
    edit = {**student, "class_unit": world.classes["B5А"].id}
    page = client.post(f"/studentview/edit/{world.students['Алексеев'].id}", data=edit).get_data(as_text=True)
    assert field_errors(page) == {"class_unit": "Недопустимое значение"}
    assert changed_tables(before, snapshot()) == []
    # Control: with the own class and teacher the same forms save.
    assert client.post("/studentview/add", data={**student, "class_unit": world.classes["5А"].id}).status_code == 302
    assert client.post("/teachingassignmentview/add", data=assignment).status_code == 302
    assert (count(Student), count(TeachingAssignment)) == (5, 4)
