"""REST for the journal: lessons, recommendations, marks and attendance (written only through the
journal service, so the rules, the version check and the audit are the same as in the grid), and
`GET /api/v1/journal/`."""
from flask import request
from flask_appbuilder.api import BaseApi, expose, protect, safe
from flask_babel import lazy_gettext as _l

from app.api.base import make_api
from app.models import Attendance, Lesson, Mark, Recommendation
from app.security import permissions as p
from app.security.filters import OWN_WRITE_FILTERS
from app.services.errors import RuleViolation
from app.services.grid import TARGETS, journal_grid
from app.services.journal import BAD_CODE, BAD_MARK, Conflict, actor_of, set_attendance, set_mark
from app.services.params import body_id, id_arg
from app.views.lessons import lesson_guard


def _actor():
    from flask import current_app

    return actor_of(current_app.appbuilder.sm.current_user)


class _AuthorOptional:
    """The author (`teacher`) may be left out: the service makes it the signed-in staff member (for a
    lesson of the administration, the assignment's teacher); teachers cannot name anyone else."""

    def _init_model_schemas(self) -> None:
        super()._init_model_schemas()
        self.add_model_schema.fields["teacher"].required = False


LessonBase = make_api(Lesson, p.RESOURCE_LESSON, "lesson",
                      ["assignment", "date", "bell_slot", "teacher", "room", "topic", "lesson_type", "status",
                       "homework", "homework_due"], after_guard=lesson_guard)
LessonBase.edit_columns = ["topic", "lesson_type", "status", "homework", "homework_due"]
LessonBase.add_query_rel_fields = {**LessonBase.add_query_rel_fields,
                                   "assignment": OWN_WRITE_FILTERS, "teacher": OWN_WRITE_FILTERS}


class LessonApi(_AuthorOptional, LessonBase):
    """Lessons: teachers write only their own; cancelling is a lesson change (the same rules as the view)."""

    def delete_headless(self, pk):
        """Delete a lesson without marks or attendance (422 otherwise)."""
        try:
            return super().delete_headless(pk)
        except RuleViolation as err:
            return self.response_422(message=err.message)

    def pre_delete(self, item):
        """The lesson rules of deleting."""
        lesson_guard(item, deleting=True)


RecommendationBase = make_api(Recommendation, p.RESOURCE_RECOMMENDATION, "recommendation",
                              ["teacher", "student", "subject", "text", "date"])
RecommendationBase.add_query_rel_fields = RecommendationBase.edit_query_rel_fields = {
    **RecommendationBase.add_query_rel_fields, "teacher": OWN_WRITE_FILTERS, "subject": OWN_WRITE_FILTERS}


class RecommendationApi(_AuthorOptional, RecommendationBase):
    """Recommendations: the author is the signed-in staff member (see services.authorship)."""


class _EntryApi:
    """Writes of marks and attendance go through the journal service; reads are the model API's."""

    def _write(self, body: dict, existing=None):
        raise NotImplementedError

    def _answer(self, call, status: int = 200):
        from app.extensions import db

        try:
            cell = call()
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            return self.response_422(message=err.message)
        except Conflict as err:
            db.session.rollback()
            return self.response(409, message="conflict", current=err.current)
        return self.response(status, result=cell, id=(cell or {}).get("id"))

    def post_headless(self):
        """Create through the service (422 on a broken rule, 409 on a conflict)."""
        body = request.get_json(silent=True)
        if not isinstance(body, dict):
            return self.response_400(message="Request is not JSON")
        return self._answer(lambda: self._write(body), 201)

    def put_headless(self, pk):
        """Change through the service; `version` must be the one last read."""
        item = self.datamodel.get(pk, self._base_filters)
        body = request.get_json(silent=True)
        if item is None:
            return self.response_404()
        if not isinstance(body, dict):
            return self.response_400(message="Request is not JSON")
        return self._answer(lambda: self._write({**body, "version": body.get("version")}, item))

    def delete_headless(self, pk):
        """Remove through the service (rules and audit as for a change)."""
        item = self.datamodel.get(pk, self._base_filters)
        if item is None:
            return self.response_404()
        return self._answer(lambda: self._write({"remove": True, "version": item.version}, item))


MarkBase = make_api(Mark, p.RESOURCE_MARK, "mark",
                    ["lesson", "student", "work_type", "value", "comment", "version"])
AttendanceBase = make_api(Attendance, p.RESOURCE_ATTENDANCE, "attendance", ["lesson", "student", "code", "version"])


class MarkApi(_EntryApi, MarkBase):
    """Marks: POST {lesson, student, work_type, value, comment}; PUT {value, version}; DELETE."""

    def _write(self, body: dict, existing: Mark | None = None):
        if existing is not None:
            lesson, student, work_type = existing.lesson_id, existing.student_id, existing.work_type_id
        else:
            lesson, student = body_id(body, "lesson"), body_id(body, "student")
            work_type = body_id(body, "work_type")
        value = None if body.get("remove") else body.get("value")
        if value is None and not body.get("remove"):
            raise RuleViolation(BAD_MARK, "value")
        return set_mark(_actor(), lesson, student, work_type, value, body.get("version"), body.get("comment"))


class AttendanceApi(_EntryApi, AttendanceBase):
    """Attendance: POST {lesson, student, code}; PUT {code, version}; DELETE."""

    def _write(self, body: dict, existing: Attendance | None = None):
        if existing is not None:
            lesson, student = existing.lesson_id, existing.student_id
        else:
            lesson, student = body_id(body, "lesson"), body_id(body, "student")
        code = None if body.get("remove") else body.get("code")
        if code is None and not body.get("remove"):
            raise RuleViolation(BAD_CODE, "code")
        return set_attendance(_actor(), lesson, student, code, body.get("version"))


class JournalApi(BaseApi):
    """GET /api/v1/journal/?class_id=…|group_id=…|stream_id=…|plan_id=…&subject_id=…&period_id=…"""

    resource_name = "journal"
    class_permission_name = p.RESOURCE_JOURNAL
    method_permission_name = {"get": p.ACTION_READ}
    base_permissions = [p.CAN_READ, p.CAN_WRITE]  # shared with JournalView: keep both on sync
    allow_browser_login = True

    @expose("/", methods=["GET"])
    @protect()
    @safe
    def get(self):
        """The journal grid: students, lessons, cells and weighted averages.
        ---
        get:
          parameters:
          - {in: query, name: class_id, schema: {type: integer}}
          - {in: query, name: group_id, schema: {type: integer}}
          - {in: query, name: stream_id, schema: {type: integer}}
          - {in: query, name: plan_id, schema: {type: integer}}
          - {in: query, name: subject_id, required: true, schema: {type: integer}}
          - {in: query, name: period_id, required: true, schema: {type: integer}}
          responses:
            200: {description: the grid}
            400: {$ref: '#/components/responses/400'}
            401: {$ref: '#/components/responses/401'}
            404: {$ref: '#/components/responses/404'}
        """
        keys = [k for k in TARGETS if request.args.get(k)]
        try:
            if len(keys) != 1:
                raise RuleViolation(_l("Give exactly one of class_id, group_id, stream_id, plan_id."))
            target_id = id_arg(request.args, keys[0], required=True)
            subject_id = id_arg(request.args, "subject_id", required=True)
            period_id = id_arg(request.args, "period_id", required=True)
            return self.response(200, **journal_grid(_actor(), keys[0], target_id, subject_id, period_id))
        except RuleViolation as err:
            return self.response_400(message=err.message)


JOURNAL_APIS = [LessonApi, RecommendationApi, MarkApi, AttendanceApi, JournalApi]
