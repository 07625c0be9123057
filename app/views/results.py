"""List views of final grades (read-only: they change only on the finals page) and of exam and
competition results (the administration records them)."""
from flask_babel import lazy_gettext as _l
from wtforms import FloatField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from app.models import ExamKind, ExamResult, FinalGrade, FinalStatus, Notification, NotificationStatus
from app.security import permissions as p
from app.security.guard import guarded
from app.services.exams import validate_exam_result
from app.views.base import SchoolModelView
from app.views.consent import READ_ONLY_ROUTES

STATUS_LABELS = {FinalStatus.proposed: _l("proposed"), FinalStatus.final: _l("final"),
                 FinalStatus.deferred: _l("deferred")}
KIND_LABELS = {ExamKind.exam: _l("exam"), ExamKind.competition: _l("competition")}
RESULT_LABELS = {
    "proposed_value": _l("Proposed"), "average": _l("Average"), "deferral_reason": _l("Deferral reason"),
    "decision_reason": _l("Reason of the final"),
    "deferral_deadline": _l("Deferred until"), "result_date": _l("Result date"), "decided_by": _l("Decided by"),
    "decided_at": _l("Decided at"), "published_at": _l("Published at"), "value": _l("Final"),
    "score": _l("Score"), "name": _l("Exam or competition"), "kind": _l("Kind"), "grade": _l("Result"),
}


def _value(value):
    return getattr(value, "value", value) if value is not None else ""


class FinalGradeView(SchoolModelView):
    """Итоговые отметки, read-only (set on the finals page, so that every rule applies)."""

    model, resource = FinalGrade, p.RESOURCE_FINAL_GRADE
    label_columns = RESULT_LABELS
    list_columns = ["student", "subject", "period", "value", "status", "result_date", "published_at"]
    show_columns = ["student", "subject", "period", "value", "proposed_value", "average", "status",
                    "deferral_reason", "deferral_deadline", "decision_reason", "result_date", "decided_by",
                    "decided_at", "published_at"]
    search_columns = ["student", "subject", "period", "status", "result_date"]
    include_route_methods = READ_ONLY_ROUTES
    base_order = ("id", "desc")
    formatters_columns = {"status": lambda v: STATUS_LABELS.get(v, v), "value": _value,  # noqa: RUF012
                          "proposed_value": _value}


class ExamResultView(SchoolModelView):
    """Результаты экзаменов и конкурсов: score ≥ 0, result on or after the exam, not in the future."""

    model, resource = ExamResult, p.RESOURCE_EXAM_RESULT
    label_columns = RESULT_LABELS
    list_columns = ["student", "kind", "name", "date", "score", "grade", "result_date", "published_at"]
    add_columns = edit_columns = ["school", "student", "subject", "kind", "name", "date", "score", "grade",
                                  "result_date"]
    show_columns = add_columns + ["published_at"]
    search_columns = ["student", "kind", "name", "date", "result_date"]
    base_order = ("date", "desc")
    formatters_columns = {"kind": lambda v: KIND_LABELS.get(v, v)}  # noqa: RUF012
    add_form_extra_fields = {"score": FloatField(_l("Score"), validators=[Optional()]),  # noqa: RUF012
                             "grade": StringField(_l("Result"), validators=[Optional(), Length(max=20)]),
                             "kind": SelectField(_l("Kind"), choices=[(k.value, KIND_LABELS[k]) for k in ExamKind],
                                                 coerce=lambda v: ExamKind(v) if v else None,
                                                 validators=[DataRequired()])}
    edit_form_extra_fields = add_form_extra_fields

    def pre_add(self, item):
        """Guard, then the exam rules."""
        guarded(item, then=validate_exam_result)

    pre_update = pre_add


NOTIFICATION_LABELS = {NotificationStatus.pending: _l("waiting"), NotificationStatus.sent: _l("sent"),
                       NotificationStatus.failed: _l("failed")}


class NotificationView(SchoolModelView):
    """Сообщения семьям composed by the school (forecast digests…), read-only; the delivery job sends them."""

    model, resource = Notification, p.RESOURCE_NOTIFICATION
    label_columns = {"title": _l("Title"), "body": _l("Text"), "created_at": _l("Composed at"),  # noqa: RUF012
                     "sent_at": _l("Sent at"), "failure": _l("Failure"), "kind": _l("Kind")}
    list_columns = ["student", "title", "status", "created_at", "sent_at"]
    show_columns = ["student", "kind", "period", "title", "body", "status", "created_at", "sent_at", "failure"]
    search_columns = ["student", "kind", "status", "created_at"]
    include_route_methods = READ_ONLY_ROUTES
    base_order = ("id", "desc")
    formatters_columns = {"status": lambda v: NOTIFICATION_LABELS.get(v, v)}  # noqa: RUF012
