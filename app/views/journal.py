"""The teacher's journal: the chooser, the grid page and its JSON endpoints (CSRF-protected)."""
import datetime as dt
import json

from flask import abort, current_app, jsonify, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.models import (
    IndividualPlan,
    Lesson,
    LessonType,
    StudyGroup,
    TeachingAssignment,
)
from app.models.journal import ATTENDANCE_KEYS
from app.security import permissions as p
from app.security.scope import current_scope, journal_clause
from app.services import clock
from app.services.calendar import class_period
from app.services.errors import RuleViolation
from app.services.grid import TARGETS, grid_of, packed_cells, student_average
from app.services.journal import (
    Conflict,
    actor_of,
    can_write_lesson,
    mark_all_present,
    save_cell_mark,
    set_attendance,
    writer_of,
)
from app.services.membership import scheme_class
from app.services.params import id_arg, json_object
from app.views.base import int_arg
from app.views.labels import enum_label

TARGET_OF = {column: key for key, (_model, column) in TARGETS.items()}  # class_unit_id → class_id…


def current_actor():
    """The Actor of the signed-in user."""
    return actor_of(current_app.appbuilder.sm.current_user)


def journals_of(scope) -> list[dict]:
    """The (target, subject) journals the user may open: their own first, then by target and subject."""
    query = select(TeachingAssignment).options(  # one statement whatever the journals: every relation is to-one
        *(joinedload(getattr(TeachingAssignment, name)) for name in ("subject", "teacher", "class_unit", "stream")),
        joinedload(TeachingAssignment.group).joinedload(StudyGroup.class_unit),
        joinedload(TeachingAssignment.plan).joinedload(IndividualPlan.student),
        joinedload(TeachingAssignment.plan).joinedload(IndividualPlan.subject))
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
                        "teacher": a.teacher.short_name, "own": a.teacher_id == scope.staff_id})
    return sorted(out, key=lambda j: (not j["own"], j["target"], j["subject"]))


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


DEFAULT_WORK_TYPE = "Ответ на уроке"  # what a teacher marks most: the default of an ordinary lesson's column


def grid_messages() -> dict:
    """The grid script's own words, translated here."""
    return {"network": str(_l("No connection to the server; the entry is not saved.")),
            "failed": str(_l("The entry is not saved.")),
            "weight": str(_l("weight")), "comment": str(_l("comment")),
            "present": str(_l("Everybody is present at the lesson of %(day)s.", day="{day}")),
            "pick": str(_l("Choose a cell of a lesson first.")),
            "work_type": str(_l("Work type of the column %(day)s: %(name)s", day="{day}", name="{name}"))}


def focus_lesson(lessons: list[dict], wanted: int | None, today: dt.date) -> int | None:
    """The lesson the grid opens at: the one asked for, else today's, else the last before today."""
    ids = [x["id"] for x in lessons]
    if wanted in ids:
        return wanted
    day = today.isoformat()
    past = [x["id"] for x in lessons if x["date"] <= day]
    today_ids = [x["id"] for x in lessons if x["date"] == day]
    return (today_ids or past[-1:] or ids[:1] or [None])[0]


def grid_columns(data: dict) -> list[dict]:
    """Lesson columns with their CSS classes and the work type new marks default to."""
    types = data["work_types"]
    heaviest = max(types, key=lambda w: w["weight"])["id"] if types else None
    answer = next((w["id"] for w in types if w["name"] == DEFAULT_WORK_TYPE), types[0]["id"] if types else None)
    return [{**lesson, "css": " ".join(c for c in ("control" if lesson["control"] else "",
                                                    "cancelled" if lesson["status"] == "cancelled" else "",
                                                    "locked" if lesson["locked"] else "") if c),
             "label": f"{lesson['date'][8:10]}.{lesson['date'][5:7]}",
             "default_work_type": heaviest if lesson["control"] else answer} for lesson in data["lessons"]]


def grid_rows(data: dict) -> list[dict]:
    """One row per student with the average as text; the cells are drawn by journal.js from `packed_cells`,
    so the server escapes 35 rows, not thousands of cells (grid.packed_cells)."""
    averages = data["averages"]
    return [{**student, "average": "" if averages.get(str(student["id"])) is None
             else f"{averages[str(student['id'])]:.2f}"} for student in data["students"]]


def page_json(value) -> Markup:
    """JSON for a `<script type="application/json">` block: compact, Cyrillic as is (not six-byte escapes),
    with the characters that could close the block or open a comment escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("'", "\\u0027"))


class JournalView(BaseView):
    """Электронный журнал: pick a journal, then students × lessons, typed straight into the cells."""

    route_base = "/journal"
    default_view = "index"
    resource = class_permission_name = p.RESOURCE_JOURNAL
    method_permission_name = {"index": p.ACTION_READ, "grid": p.ACTION_READ, "save_cell": p.ACTION_WRITE,
                              "save_lesson": p.ACTION_WRITE, "all_present": p.ACTION_WRITE}

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
            period_id, wanted = id_arg(request.args, "period"), id_arg(request.args, "lesson")
            if period_id is None:
                asked = db.session.get(Lesson, wanted) if wanted else None
                period_id = current_period(target_key, target_id, subject_id, asked.date if asked else clock.today())
            data, entries = grid_of(current_actor(), target_key, target_id, subject_id, period_id)
        except RuleViolation as err:
            return self.render_template("journal/error.html", message=err.message), 404
        columns = grid_columns(data)
        return self.render_template("journal/grid.html", data=data, target_key=target_key,
                                    journals=journals_of(current_scope()), messages=grid_messages(),
                                    focus=focus_lesson(data["lessons"], wanted, clock.today()),
                                    rows=grid_rows(data), columns=columns,
                                    embedded={"lessons": page_json(data["lessons"]),
                                              "cells": page_json(packed_cells(entries))},
                                    lesson_types=[(t.value, enum_label(t)) for t in LessonType],
                                    attendance_keys=ATTENDANCE_KEYS)

    @expose("/cell", methods=["POST"])
    @has_access
    def save_cell(self):
        """Save one mark or attendance entry: 200 with the cell, 422 with the rule, 409 on conflict."""
        actor, warning = writer_of(current_app.appbuilder.sm.current_user), None
        try:
            body = json_object(request.get_json(silent=True))
            lesson_id, student_id = int_arg("lesson_id", body), int_arg("student_id", body)
            period_id = id_arg(body, "period_id")  # read before anything is written: a bad one refuses it all
            if body.get("kind") == "attendance":
                cell = set_attendance(actor, lesson_id, student_id, body.get("code") or None, body.get("version"))
            elif body.get("kind") == "mark":
                value = body.get("value")
                value = None if value in (None, "") else value
                cell, warning = save_cell_mark(actor, lesson_id, student_id, int_arg("work_type_id", body), value,
                                               body.get("seen"), body.get("version"), body.get("comment"))
            else:
                raise RuleViolation(_l("Unknown entry kind."))
            # read in the write's transaction, while its lesson is loaded (after the commit it would be read again)
            average = student_average(lesson_id, student_id, period_id) if period_id else None
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            return jsonify(ok=False, error=err.message), 422
        except Conflict as err:
            db.session.rollback()
            return jsonify(ok=False, error=str(_l("Someone has changed this entry meanwhile; the current value is "
                                                  "shown.")), current=err.current,
                           marks=getattr(err, "marks", None)), 409
        extra = {"warning": str(warning)} if warning else {}
        return jsonify(ok=True, cell=cell, average=average, **extra)

    @expose("/present/<id:lesson_id>", methods=["POST"])
    @has_access
    def all_present(self, lesson_id: int):
        """«Все присутствуют»: clear the lesson's attendance entries the teacher saw; 409 if others appeared,
        404 for a lesson that is not the user's (as the lesson header)."""
        try:
            body = request.get_json(silent=True)  # the lesson is checked first: a foreign one is a 404
            cleared = mark_all_present(current_actor(), lesson_id, body.get("seen") if isinstance(body, dict) else None)
            db.session.commit()
        except RuleViolation as err:
            db.session.rollback()
            return jsonify(ok=False, error=err.message), 404 if err.field == "lesson" else 422
        except Conflict:
            db.session.rollback()
            return jsonify(ok=False, error=str(_l("Someone has changed the attendance meanwhile; reload the "
                                                  "page."))), 409
        return jsonify(ok=True, cleared=cleared)

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
