"""Form fields that cannot pick the wrong family: a student found by surname on the server and a legal
representative offered only from the chosen student's; both start empty, and a posted id is accepted only
for a row the user may see (and, for the representative, only one of that student's)."""
from flask import url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import Field, SelectField
from wtforms.validators import DataRequired, StopValidation

from app.extensions import db
from app.models import Guardian, Student
from app.security.scope import current_scope, is_visible
from app.services.consent import representatives
from app.services.params import as_id
from app.views.labels import enum_label


def blank_enum_field(label, enum_class) -> SelectField:
    """An enum select that starts empty: the registrar chooses, nothing is pre-selected."""
    return SelectField(label, choices=[("", "—")] + [(m.value, enum_label(m)) for m in enum_class],
                       coerce=lambda v: enum_class(v) if v else None, validators=[DataRequired()])


def student_label(student: Student) -> str:
    """How a student is offered: full name, class and birth date (namesakes differ by the last two)."""
    birth = f", {student.birth_date:%d.%m.%Y}" if student.birth_date else ""
    return f"{student.full_name} ({student.class_unit.name if student.class_unit else '—'}{birth})"


class PickWidget:
    """A select holding only the chosen option; static/js/family_pick.js fills it from `data-source`."""

    def __init__(self, endpoint: str, placeholder, depends: str | None = None):
        self.endpoint, self.placeholder, self.depends = endpoint, placeholder, depends

    def __call__(self, field, **kwargs):
        chosen = field.data
        option = f'<option value="{chosen.id}" selected>{escape(field.label_of(chosen))}</option>' if chosen else ""
        depends = f' data-depends="{self.depends}"' if self.depends else ""
        return Markup(f'<select class="form-control family-pick" id="{field.id}" name="{field.name}" '
                      f'data-source="{url_for(self.endpoint)}" data-placeholder="{escape(str(self.placeholder))}"'
                      f'{depends}><option value=""></option>{option}</select>')


class PickField(Field):
    """A row chosen by id; the object itself is the field's data (FAB sets it on the new record)."""

    def __init__(self, label, model, widget: PickWidget, message, **kwargs):
        super().__init__(label, widget=widget, **kwargs)
        self.model, self.message = model, message

    def label_of(self, obj) -> str:
        return student_label(obj) if isinstance(obj, Student) else obj.full_name

    def process_formdata(self, valuelist):
        pk = as_id(valuelist[0]) if valuelist and valuelist[0] else None
        obj = db.session.get(self.model, pk) if pk is not None else None
        self.data = obj if obj is not None and is_visible(obj, current_scope()) else None

    def pre_validate(self, form):
        if self.data is None:
            raise StopValidation(str(self.message))


class GuardianPickField(PickField):
    """A legal representative of the student chosen in the form's `student` field."""

    def pre_validate(self, form):
        super().pre_validate(form)
        student = form.student.data if "student" in form else None
        if student is not None and self.data.id not in {link.guardian_id for link in representatives(student.id)}:
            raise StopValidation(str(_l("%(guardian)s is not a legal representative of %(student)s.",
                                        guardian=self.data, student=student)))


def student_field() -> PickField:
    return PickField(_l("Student"), Student, PickWidget("ConsentPagesView.students", _l("Type the surname")),
                     _l("Find the student by surname and choose them."))


def guardian_field() -> GuardianPickField:
    return GuardianPickField(_l("Legal representative"), Guardian,
                             PickWidget("ConsentPagesView.guardians", _l("Choose the student first"), "student"),
                             _l("Choose the legal representative."))
