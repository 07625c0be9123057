"""Weekly timetable grids of a class, a teacher or a room (/timetable/), on screen and as PDF. Teachers see
their own week and the lessons they may see; a class teacher their class's whole week."""
import datetime as dt

from flask import abort, render_template, request
from flask_appbuilder import BaseView, expose
from flask_appbuilder.security.decorators import has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.extensions import db
from app.models import ClassUnit, Lesson, School, Staff
from app.security import permissions as p
from app.security.scope import current_scope, is_visible, visible_clause
from app.services import clock, roster
from app.services.params import as_id, date_arg
from app.services.pdf import font_css, html_to_pdf
from app.services.timetable_clashes import WEEKDAYS
from app.services.timetable_import import COLUMNS, TimetableRejected, import_timetable, read_table, template_csv
from app.services.timetable_week import KINDS, rooms_of, week_grid
from app.views.downloads import CSV, PDF, attachment


class TimetableWeekView(BaseView):
    """Pick a class, teacher or room; see and print its week."""

    route_base = "/timetable"
    class_permission_name = p.RESOURCE_TIMETABLE
    method_permission_name = {"index": p.ACTION_READ, "week": p.ACTION_READ, "pdf": p.ACTION_READ,
                              "import_page": p.ACTION_READ, "template": p.ACTION_READ, "upload": p.ACTION_WRITE}
    base_permissions = [p.CAN_READ, p.CAN_WRITE]  # shared with TimetableEntryView: keep both on sync

    def _school(self) -> School:
        scope = current_scope()
        school_id = scope.school_id or as_id(request.args.get("school", ""))
        school = db.session.get(School, school_id) if school_id else db.session.scalar(
            select(School).order_by(School.id))
        if school is None:
            abort(404)
        return school

    def _day(self) -> dt.date:
        """A day of the week asked (`?week=YYYY-MM-DD`, today when absent); a clear 400 for anything else."""
        return date_arg((request.args.get("week") or "").strip(), "week") or clock.today()

    def _grid(self):
        """The grid of ?class=id, ?teacher=id or ?room=name the user may see (404 out of their scope)."""
        scope = current_scope()
        kind = next((k for k in KINDS if request.args.get(k, "").strip()), None)
        if kind is None:
            abort(404)
        key = request.args[kind].strip()[:20]
        school, visible = self._school(), None
        if kind in ("class", "teacher") and as_id(key) is None:
            abort(404)
        if kind == "class":
            cls = db.session.get(ClassUnit, int(key))
            if cls is None or cls.school_id != school.id or not is_visible(cls, scope) or not (
                    scope.reads_school or cls.id in scope.class_ids | scope.partial_class_ids):
                abort(404)  # a teacher opens the classes they teach (or lead), not any class of the school
            if not (scope.reads_school or cls.id in scope.homeroom_ids):
                visible = visible_clause(Lesson, scope)
        elif kind == "teacher":
            staff = db.session.get(Staff, int(key))
            if staff is None or staff.school_id != school.id or not (scope.reads_school or staff.id == scope.staff_id):
                abort(404)
        elif not scope.reads_school:
            visible = visible_clause(Lesson, scope)
        return week_grid(school, kind, key, self._day(), visible)

    @expose("/")
    @has_access
    def index(self):
        """The classes, teachers and rooms whose weeks the user may open."""
        scope, school = current_scope(), self._school()
        classes = select(ClassUnit).where(ClassUnit.school_id == school.id).order_by(ClassUnit.grade, ClassUnit.letter)
        if not scope.everything:
            classes = classes.where(visible_clause(ClassUnit, scope))
        teachers = select(Staff).where(Staff.school_id == school.id, Staff.user_id.is_not(None)).order_by(
            Staff.surname, Staff.name)
        if not scope.reads_school:
            teachers = teachers.where(Staff.id == scope.staff_id)
        classes, teachers = db.session.scalars(classes).all(), db.session.scalars(teachers).all()
        rooms = rooms_of(school.id) if scope.reads_school else []
        return self.render_template("timetable/index.html", classes=classes, teachers=teachers, rooms=rooms,
                                    school=school, can_import=scope.reads_school and scope.school_id is not None)

    @expose("/week")
    @has_access
    def week(self):
        """The week's grid (?week=a day of it) with links to each lesson and to the neighbouring weeks."""
        grid = self._grid()
        return self.render_template("timetable/week.html", grid=grid, weekdays=WEEKDAYS, timedelta=dt.timedelta)

    @expose("/pdf")
    @has_access
    def pdf(self):
        """The week as an A4 landscape PDF."""
        grid = self._grid()
        html = render_template("timetable/week_pdf.html", grid=grid, weekdays=WEEKDAYS, font_css=font_css())
        name = f"Расписание {grid.title} {grid.monday:%d.%m.%Y}.pdf"
        return attachment(html_to_pdf(html), name, PDF)

    @expose("/import")
    @has_access
    def import_page(self):
        """The upload form of a timetable file (CSV, XLSX, aSc XML) and the template link."""
        return self._import_render()

    def _import_render(self, status: int = 200, **context):
        school = self._school()
        return self.render_template("timetable/import.html", years=roster.school_years(school),
                                    columns=COLUMNS, **context), status

    @expose("/template.csv")
    @has_access
    def template(self):
        """The empty timetable template (CSV, UTF-8, «;»)."""
        return attachment(template_csv(), "Шаблон расписания.csv", CSV)

    @expose("/import", methods=["POST"])
    @has_access
    def upload(self):
        """Check (dry run) or import the file, all or nothing; only the administration imports."""
        scope = current_scope()
        if not scope.reads_school or scope.school_id is None:
            abort(403)
        school = self._school()
        year = next((y for y in roster.school_years(school) if y.id == as_id(request.form.get("year_id", ""))), None)
        dry_run, upload = bool(request.form.get("dry_run")), request.files.get("file")
        if year is None or upload is None or not upload.filename:
            return self._import_render(400, error=_l("Choose the academic year and a file."))
        try:
            outcome = import_timetable(read_table(upload.read(), upload.filename), school, year, dry_run=dry_run)
        except roster.RosterFormatError as err:
            return self._import_render(400, error=err.message)
        except TimetableRejected as err:
            db.session.rollback()
            return self._import_render(422, problems=err.problems)
        if dry_run:
            db.session.rollback()
        else:
            db.session.commit()
        return self._import_render(200, created=outcome.created, dry_run=dry_run)
