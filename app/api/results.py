"""REST of results: `finalgrade` (read; written only through the finals service, so the rules,
the version check and the audit are those of the finals page; never deleted) and `examresult`."""
from flask_babel import lazy_gettext as _l

from app.api.base import make_api
from app.api.journal import _actor, _EntryApi
from app.models import ExamResult, FinalGrade, FinalStatus
from app.security import permissions as p
from app.services.errors import RuleViolation
from app.services.exams import validate_exam_result
from app.services.finals import defer_final, set_final
from app.services.params import body_date, body_id, body_version, text_or_none

FinalGradeBase = make_api(FinalGrade, p.RESOURCE_FINAL_GRADE, "finalgrade",
                          ["student", "subject", "period", "value", "proposed_value", "average", "status",
                           "deferral_reason", "deferral_deadline", "decision_reason", "result_date", "published_at",
                           "version"])
FinalGradeBase.include_route_methods = {"get", "get_list", "info", "post", "put"}


class FinalGradeApi(_EntryApi, FinalGradeBase):
    """POST {student, subject, period, value[, version, reason]} sets a final (a reason where the
    finals are not open yet or the marks are too few); with {"status": "deferred",
    "deferral_reason", "deferral_deadline"} the administration defers it; PUT {value, version}."""

    def _write(self, body: dict, existing: FinalGrade | None = None):
        if existing is not None:
            student, subject, period = existing.student_id, existing.subject_id, existing.period_id
        else:
            student, subject, period = body_id(body, "student"), body_id(body, "subject"), body_id(body, "period")
        version = body_version(body)
        if body.get("status") == FinalStatus.deferred.value:
            return defer_final(_actor(), student, subject, period, str(body.get("deferral_reason") or ""),
                               body_date(body, "deferral_deadline"), version)
        value = body.get("value")
        if not isinstance(value, str):
            raise RuleViolation(_l("value must be one of 5, 4, 3, 2, зач, незач, н/а, осв."), "value")
        return set_final(_actor(), student, subject, period, value, version,
                         reason=text_or_none(body.get("reason"), "reason"))


ExamResultApi = make_api(ExamResult, p.RESOURCE_EXAM_RESULT, "examresult",
                         ["student", "subject", "kind", "name", "date", "score", "grade", "result_date"],
                         after_guard=validate_exam_result)
ExamResultApi.show_columns = ExamResultApi.list_columns = ExamResultApi.list_columns + ["published_at"]

RESULT_APIS = [FinalGradeApi, ExamResultApi]
