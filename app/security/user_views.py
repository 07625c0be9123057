"""FAB's user pages in the school's words: role names in Russian (not `[Teacher, ClassTeacher]`), Да/Нет,
dates as дд.мм.гггг; the same names in the role picker of the user form."""
from flask_babel import lazy_gettext as _l
from wtforms.fields.core import UnboundField

from app.security import roles as r
from app.views.display import shown

ROLE_LABELS = {
    r.ROLE_ADMIN: _l("Deployment administrator"), r.ROLE_ADMINISTRATION: _l("School administration"),
    r.ROLE_TEACHER: _l("Teacher"), r.ROLE_CLASS_TEACHER: _l("Class teacher"), r.ROLE_REGISTRAR: _l("Registrar"),
    r.ROLE_AUDITOR: _l("Auditor"), r.ROLE_PUBLIC: _l("Public (not signed in)"),
}


def role_label(role) -> str:
    """A role's name as the school says it (its stored name if it is not one of ours)."""
    name = getattr(role, "name", role)
    return str(ROLE_LABELS.get(name, name))


def roles_text(roles) -> str:
    """A list of roles, comma-separated, by their Russian names."""
    return ", ".join(role_label(role) for role in roles or [])


def readable_user_pages(user_view) -> None:
    """Set FAB's user view (password sign-in, made by FAB's security manager) to show readable values.
    Adjusted in place rather than subclassed: the view keeps FAB's permissions and endpoints as they are."""
    user_view.label_columns["email"] = _l("E-mail")
    user_view.description_columns.update({
        "username": _l("The login the user signs in with"),
        "email": _l("The user's e-mail address"),
        "roles": _l("What the user may do in the journal"),
        "groups": _l("Groups of users with their roles (not used by the school)"),
    })
    user_view.formatters_columns = {
        **(user_view.formatters_columns or {}), "roles": roles_text,
        "groups": lambda groups: ", ".join(str(g) for g in groups or []),
        **{col: shown for col in ("active", "last_login", "login_count", "fail_login_count", "created_on",
                                  "created_by", "changed_on", "changed_by")}}
    for form in (user_view.add_form, user_view.edit_form):
        field = getattr(form, "roles", None)
        if isinstance(field, UnboundField):
            field.kwargs["get_label"] = role_label
