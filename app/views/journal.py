"""The teacher's journal: the chooser, the grid page and its JSON endpoints (CSRF-protected)."""
import datetime as dt

from flask import abort, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import Lesson, LessonType, ReportingPeriod, TeachingAssignment
from app.models.journal import ATTENDANCE_KEYS
from app.security import permissions as p
from app.security.scope import current_scope, journal_clause
from app.services import clock
from app.services.calendar import class_period
from app.services.errors import RuleViolation
from app.services.grid import TARGETS, journal_grid, student_average
from app.services.journal import Conflict, actor_of, can_write_lesson, set_attendance, set_mark
from app.services.membership import scheme_class
from app.services.params import id_arg, json_object
from app.views.base import int_arg
from app.views.labels import enum_label

TARGET_OF = {column: key for key, (_model, column) in TARGETS.items()}  # class_unit_id → class_id…


def current_actor():
    """The Actor of the signed-in user."""
    from flask import current_app

    return actor_of(current_app.appbuilder.sm.current_user)


def journals_of(scope) -> list[dict]:
    """The (target, subject) journals the user may open, ordered by target then subject."""
    query = select(TeachingAssignment)
    clause = journal_clause(scope)  # own, the homeroom class's, and those of lessons the user substitutes
    if clause is not None:
        query = query.where(clause)
    seen, out = set(), []
    for a in db.session.scalars(query):
        column = next(c for c in TARGET_OF if getattr(a, c))
        key = (column, getattr(a, column), a.subject_id)
        if key not in seen:
            seen.add(key)
            out.append({"target_key": TARGET_OF[column], "target_id": key[1], "target": str(a.target),
                        "subject_id": a.subject_id, "subject": a.subject.name, "year_id": a.year_id,
                        "teacher": a.teacher.short_name})
    return sorted(out, key=lambda j: (j["target"], j["subject"]))


def current_period(target_key: str, target_id: int, subject_id: int, today: dt.date) -> int:
    """The current period of the target's scheme (`calendar.current_period`); 0 if none."""
    column = {key: c for c, key in TARGET_OF.items()}.get(target_key)
    if column is None:
        return 0
    assignment = db.session.scalar(select(TeachingAssignment).where(
        getattr(TeachingAssignment, column) == target_id, TeachingAssignment.subject_id == subject_id).limit(1))
    if assignment is None:
        return 0
    chosen = class_period(assignment.year_id, scheme_class(assignment), today)
    return chosen.id if chosen else 0


def grid_columns(data: dict) -> list[dict]:
    """Lesson columns with their CSS classes and the work type new marks default to."""
    heaviest = max(data["work_types"], key=lambda w: w["weight"])["id"] if data["work_types"] else None
    lightest = data["work_types"][0]["id"] if data["work_types"] else None
    return [{**lesson, "css": " ".join(c for c in ("control" if lesson["control"] else "",
                                                    "cancelled" if lesson["status"] == "cancelled" else "") if c),
             "label": f"{lesson['date'][8:10]}.{lesson['date'][5:7]}",
             "default_work_type": heaviest if lesson["control"] else lightest} for lesson in data["lessons"]]


def grid_rows(data: dict) -> list[dict]:
    """One row per student: the cells in lesson order and the average as text."""
    cells, lessons = data["cells"], data["lessons"]
    rows = []
    for student in data["students"]:
        sid = student["id"]
        average = data["averages"].get(str(sid))
        rows.append({**student, "cells": [cells.get(f"{sid}:{lesson['id']}") for lesson in lessons],
                     "average": "" if average is None else f"{average:.2f}"})
    return rows


class JournalView(BaseView):
    """Электронный журнал: pick a journal, then students × lessons, typed straight into the cells."""

    route_base = "/journal"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_JOURNAL
    method_permission_name = {"index": p.ACTION_READ, "grid": p.ACTION_READ, "save_cell": p.ACTION_WRITE,
                              "save_lesson": p.ACTION_WRITE}

    @expose("/")
    @has_access
    def index(self):
        """The journals of the user."""
        return self.render_template("journal/index.html", journals=journals_of(current_scope()))

    @expose("/grid")
    @has_access
    def grid(self):
        """The grid of one journal for one period (default: the current one)."""
        target_key = request.args.get("target", "class_id")
        try:
            target_id, subject_id = int_arg("id"), int_arg("subject")
            period_id = id_arg(request.args, "period")
            if period_id is None:
                period_id = current_period(target_key, target_id, subject_id, clock.today())
            data = journal_grid(current_actor(), target_key, target_id, subject_id, period_id)
        except RuleViolation as err:
            return self.render_template("journal/error.html", message=err.message), 404
        periods = db.session.scalars(select(ReportingPeriod).where(
            ReportingPeriod.year_id == data["period"]["year_id"],
            ReportingPeriod.kind.in_([data["period"]["kind"], "year"])).order_by(ReportingPeriod.start)).all()
        return self.render_template("journal/grid.html", data=data, periods=periods, target_key=target_key,
                                    rows=grid_rows(data), columns=grid_columns(data),
                                    lesson_types=[(t.value, enum_label(t)) for t in LessonType],
                                    attendance_keys=ATTENDANCE_KEYS)

    @expose("/cell", methods=["POST"])
    @has_access
    def save_cell(self):
        """Save one mark or attendance entry: 200 with the cell, 422 with the rule, 409 on conflict."""
        actor = current_actor()
        try:
            body = json_object(request.get_json(silent=True))
            lesson_id, student_id = int_arg("lesson_id", body), int_arg("student_id", body)
            period_id = id_arg(body, "period_id")  # read before anything is written: a bad one refuses it all
            if body.get("kind") == "attendance":
                cell = set_attendance(actor, lesson_id, student_id, body.get("code") or None, body.get("version"))
            elif body.get("kind") == "mark":
                value = body.get("value")
                cell = set_mark(actor, lesson_id, student_id, int_arg("work_type_id", body),
                                None if value in (None, "") else value, body.get("version"), body.get("comment"))
            else:
                raise RuleViolation(_l("Unknown entry kind."))
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            return jsonify(ok=False, error=err.message), 422
        except Conflict as err:
            db.session.rollback()
            return jsonify(ok=False, error=str(_l("Someone has changed this entry meanwhile; the current value is "
                                                  "shown.")), current=err.current), 409
        average = student_average(lesson_id, student_id, period_id) if period_id else None
        return jsonify(ok=True, cell=cell, average=average)

    @expose("/lesson/<id:lesson_id>", methods=["POST"])
    @has_access
    def save_lesson(self, lesson_id: int):
        """Save the topic, type, status and homework of a lesson from the column header."""
        lesson = db.session.get(Lesson, lesson_id)
        if lesson is None or not can_write_lesson(current_actor(), lesson):
            abort(404)
        try:
            update_lesson(lesson, json_object(request.get_json(silent=True)))
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            return jsonify(ok=False, error=err.message), 422
        return jsonify(ok=True)


def update_lesson(lesson: Lesson, body: dict) -> None:
    """Apply the header fields, refusing bad values."""
    from app.services.lessons import describe_lesson

    describe_lesson(lesson, topic=body.get("topic"), homework=body.get("homework"),
                    homework_due=body.get("homework_due"), lesson_type=body.get("type"), status=body.get("status"))
