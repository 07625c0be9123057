"""Views of staff, students and legal representatives."""
from app.models import Guardian, Staff, Student, StudentGuardian
from app.security import permissions as p
from app.security.guard import guarded
from app.services.students import sync_enrolment
from app.views.base import SchoolModelView
from app.views.labels import PERSON_LABELS


class StaffView(SchoolModelView):
    model, resource = Staff, p.RESOURCE_STAFF
    label_columns = PERSON_LABELS
    list_columns = ["surname", "name", "patronymic", "position", "user"]
    add_columns = edit_columns = show_columns = ["school", "surname", "name", "patronymic", "position", "user"]
    search_columns = ["surname", "name", "position"]
    base_order = ("surname", "asc")


class StudentView(SchoolModelView):
    model, resource = Student, p.RESOURCE_STUDENT
    label_columns = PERSON_LABELS
    list_columns = ["surname", "name", "patronymic", "class_unit", "birth_date"]
    add_columns = edit_columns = [
        "school", "surname", "name", "patronymic", "birth_date", "file_number", "class_unit",
        "enrolled_on", "left_on",
    ]
    show_columns = add_columns
    search_columns = ["surname", "name", "class_unit", "birth_date"]
    base_order = ("surname", "asc")
    show_template = "finals/student_show.html"  # with a link to the academic record

    def pre_add(self, item):
        """Guard, then keep the enrolment history in step with the chosen class."""
        guarded(item, then=sync_enrolment)

    pre_update = pre_add


class GuardianView(SchoolModelView):
    model, resource = Guardian, p.RESOURCE_GUARDIAN
    label_columns = PERSON_LABELS
    list_columns = ["surname", "name", "patronymic"]
    add_columns = edit_columns = show_columns = [
        "school", "surname", "name", "patronymic", "birth_date", "identity_document",
    ]
    search_columns = ["surname", "name"]
    base_order = ("surname", "asc")


class StudentGuardianView(SchoolModelView):
    model, resource = StudentGuardian, p.RESOURCE_STUDENT_GUARDIAN
    list_columns = ["student", "guardian", "relation"]
    add_columns = edit_columns = show_columns = ["school", "student", "guardian", "relation", "authority_basis"]
    search_columns = ["student", "guardian", "relation"]
