"""Paper extracts (SPEC §7): who may print what, numbered and logged extracts of one student, a class
or every paper-recipient family as one PDF, the class summary sheet PDF, and verification."""
import datetime as dt
from dataclasses import dataclass, field

from flask import current_app, render_template
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.models import ClassUnit, Enrolment, ExtractLog, PeriodKind, ReportingPeriod, Student
from app.security.roles import PRINTS_ANY_STUDENT, PRINTS_HOMEROOM, PRINTS_PAPER_RECIPIENTS, capabilities
from app.security.scope import Scope, scope_for_user
from app.services import clock, pdf
from app.services.consent import electronic_recipients, paper_recipients
from app.services.errors import RuleViolation
from app.services.extracts_data import SECTIONS, class_of, extract_data
from app.services.membership import enrolled_between
from app.services.summary import summary_sheet, visible_summary

CLASS_SECTIONS = set(SECTIONS) - {"recommendations"}  # the class's, not the student's
GRADE_COLUMNS_PER_BLOCK = 25  # summary PDF: final-grade columns per table, so «46,8» fits its column


@dataclass(frozen=True)
class Printer:
    """Who prints: any student of the school, their homeroom classes, or paper recipients only."""

    username: str
    scope: Scope
    any_student: bool = False
    homeroom: bool = False
    paper: bool = False


def printer_of(user) -> Printer:
    """The Printer of a login user, from their roles."""
    can = capabilities(user.roles)
    return Printer(user.username, scope_for_user(user), any_student=PRINTS_ANY_STUDENT in can,
                   homeroom=PRINTS_HOMEROOM in can, paper=PRINTS_PAPER_RECIPIENTS in can)


def system_printer(username: str = "cli") -> Printer:
    """The command line prints anything of any school."""
    return Printer(username, Scope(everything=True), any_student=True)


@dataclass
class Order:
    """A checked print request: (student, period) pairs in print order, sections and date range."""

    items: list[tuple[Student, ReportingPeriod]]
    sections: list[str]
    start: dt.date
    end: dt.date
    title: str = ""
    logs: list[ExtractLog] = field(default_factory=list)


NOT_FOUND = {"period": _l("The reporting period is not found."),
             "class": _l("The class is not found or is not available to you."),
             "student": _l("The student is not found or is not available to you.")}


def _get(model, pk, what: str, printer: Printer):
    obj = db.session.get(model, pk) if pk is not None else None
    if obj is None or not (printer.scope.everything or obj.school_id == printer.scope.school_id):
        raise RuleViolation(NOT_FOUND[what], what)
    return obj


def _homeroom_student(printer: Printer, student: Student) -> bool:
    return bool(printer.scope.homeroom_ids) and db.session.scalar(select(Enrolment.id).where(
        Enrolment.student_id == student.id, Enrolment.class_unit_id.in_(sorted(printer.scope.homeroom_ids)))
        .limit(1)) is not None


def may_print(printer: Printer, student: Student, today: dt.date) -> bool:
    """Administration: any student of the school; class teacher: their class; registrar: paper recipients."""
    if printer.any_student:
        return True
    if printer.homeroom and _homeroom_student(printer, student):
        return True
    return printer.paper and not electronic_recipients([student.id], today)


def period_for(cls: ClassUnit | None, period: ReportingPeriod) -> ReportingPeriod:
    """The class's own period at the chosen one's end (a trimester class asked for a quarter)."""
    if cls is None or period.kind in (cls.period_kind, PeriodKind.year) or cls.year_id != period.year_id:
        return period
    return db.session.scalar(select(ReportingPeriod).where(
        ReportingPeriod.year_id == period.year_id, ReportingPeriod.kind == cls.period_kind,
        ReportingPeriod.start <= period.end, ReportingPeriod.end >= period.end)) or period


def class_list(cls: ClassUnit, period: ReportingPeriod) -> list[Student]:
    """Students of the class during the period, in class-list order."""
    return db.session.scalars(select(Student).join(Enrolment, Enrolment.student_id == Student.id).where(
        Enrolment.class_unit_id == cls.id, enrolled_between(period.start, period.end))
        .order_by(Student.surname, Student.name, Student.id).distinct()).all()


def make_order(printer: Printer, *, period_id, student_id=None, class_id=None, all_paper: bool = False,
               paper_only: bool = False, sections=(), start: dt.date | None = None, end: dt.date | None = None,
               today: dt.date | None = None) -> Order:
    """Check a print request; RuleViolation with a clear message, nothing written."""
    today = today or clock.today()
    period = _get(ReportingPeriod, period_id, "period", printer)
    unknown = [s for s in sections if s not in SECTIONS]
    if unknown:
        raise RuleViolation(_l("Unknown section: %(name)s.", name=", ".join(unknown)), "sections")
    start, end = start or period.start, end or period.end
    if start > end:
        raise RuleViolation(_l("The start of the date range is after its end."), "start")
    year = period.year
    if start < year.start or end > year.end:
        raise RuleViolation(_l("The date range must lie within the academic year %(year)s.", year=year.name), "start")
    if sum((student_id is not None, class_id is not None, bool(all_paper))) != 1:
        raise RuleViolation(_l("Choose one student, one class, or all paper recipients of the school."))
    if student_id is not None:
        student = _get(Student, student_id, "student", printer)
        if student.school_id != period.school_id or not may_print(printer, student, today):
            raise RuleViolation(NOT_FOUND["student"], "student")
        if class_of(student, period) is None:
            raise RuleViolation(_l("%(student)s was not in any class during %(period)s.", student=student.full_name,
                                   period=period.title), "period")
        items, title = [(student, period)], student.full_name
    elif class_id is not None:
        cls = _get(ClassUnit, class_id, "class", printer)
        if not (printer.any_student or printer.paper or cls.id in printer.scope.homeroom_ids) \
                or cls.school_id != period.school_id:
            raise RuleViolation(NOT_FOUND["class"], "class")
        if cls.year_id != period.year_id:
            raise RuleViolation(_l("The period %(period)s is not of the class's academic year.",
                                   period=period.title), "period")
        own = period_for(cls, period)
        students = class_list(cls, own)
        if paper_only or not (printer.any_student or cls.id in printer.scope.homeroom_ids):
            electronic = electronic_recipients([s.id for s in students], today)
            students = [s for s in students if s.id not in electronic]
        items, title = [(s, own) for s in students], cls.name
    else:
        if not (printer.any_student or printer.paper):
            raise RuleViolation(_l("Only the administration and the registrar print for the whole school."))
        items = [(s, period_for(s.class_unit, period)) for s in paper_recipients(period.school_id, today)
                 if s.class_unit is not None and s.class_unit.year_id == period.year_id]
        title = period.school.short_name
    if not items:
        raise RuleViolation(_l("Nobody to print: the choice has no students."))
    return Order(items, list(dict.fromkeys(sections)), start, end, title)  # a section repeated prints once


def _number(seq: int, today: dt.date) -> str:
    return f"В-{today.year}-{seq:06d}"


def extract_parts(order: Order) -> tuple[str, ...]:
    """How an extract is laid out: the student's part, then the class's sections on their own pages
    (the same for students with the same lessons: a batch lays each different one out once), or whole
    when no class section is chosen."""
    return ("student", "class") if CLASS_SECTIONS & set(order.sections) else ("whole",)


def render_extract(order: Order, student: Student, period: ReportingPeriod, number: str,
                   today: dt.date) -> tuple[dict, list[str]]:
    """The data and the HTML of each part of one extract of the order."""
    data = extract_data(student, period, order.sections, max(order.start, period.year.start),
                        min(order.end, period.year.end))
    return data, [render_template("extracts/extract.html", data=data, part=part, number=number, printed_on=today,
                                  fonts=pdf.font_css()) for part in extract_parts(order)]


def extract_footer(number: str, today: dt.date, student: Student) -> str:
    """The footer line of every page of an extract (its page number follows)."""
    return f"Выписка № {number} от {today:%d.%m.%Y} · {student.short_name}"


def print_order(printer: Printer, order: Order, today: dt.date | None = None,
                parallel: bool | None = None) -> bytes:
    """Number and log every extract, render them (HTML here, PDF in the pool for large batches, each
    different part once), merge them into one file with each extract's footer and page numbers, and
    keep its SHA-256 in every log row; the caller commits."""
    today = today or clock.today()
    now = dt.datetime.now().replace(microsecond=0)
    school_id = order.items[0][0].school_id
    seq = db.session.scalar(select(func.max(ExtractLog.seq)).where(ExtractLog.school_id == school_id)) or 0
    if parallel is None:
        parallel = len(order.items) >= current_app.config.get("EXTRACTS_POOL_MIN", 6)
    pool = pdf.pool() if parallel and len(order.items) > 1 else None
    converting, documents, footers = {}, [], []  # HTML → the pool's future (None: converted here below)
    for n, (student, period) in enumerate(order.items, start=1):
        number = _number(seq + n, today)
        data, parts = render_extract(order, student, period, number, today)
        order.logs.append(ExtractLog(
            school_id=school_id, seq=seq + n, number=number, student_id=student.id,
            class_unit_id=data["class"].id if data["class"] else None, period_id=period.id,
            sections=",".join(order.sections), date_from=order.start, date_to=order.end,
            printed_by=printer.username, printed_at=now, batch_size=len(order.items)))
        for html in parts:
            if html not in converting:  # workers convert meanwhile
                converting[html] = pool.submit(pdf.html_to_pdf, html) if pool else None
        documents.append(parts)
        footers.append(extract_footer(number, today, student))
    converted = {html: job.result() if job else pdf.html_to_pdf(html) for html, job in converting.items()}
    file, pages = pdf.merge([[converted[html] for html in parts] for parts in documents], footers,
                            f"Выписки: {order.title}" if len(documents) > 1 else "")
    digest, first = pdf.sha256(file), 1
    for log, count in zip(order.logs, pages, strict=True):
        log.sha256, log.first_page, log.pages = digest, first, count
        first += count
    db.session.add_all(order.logs)
    try:
        db.session.flush()
    except IntegrityError:
        raise RuleViolation(_l("Another print took the same extract numbers at the same moment: print again.")) \
            from None
    return file


@dataclass(frozen=True)
class Verdict:
    """Whether a file is the one printed under a number."""

    number: str
    found: bool
    ok: bool
    log: ExtractLog | None = None


def verify(number: str, data: bytes, school_id: int | None = None) -> Verdict:
    """The file's SHA-256 against the log rows of the number (in the school, when given)."""
    number = (number or "").strip()
    query = select(ExtractLog).where(ExtractLog.number == number)
    if school_id is not None:
        query = query.where(ExtractLog.school_id == school_id)
    rows = db.session.scalars(query).all()
    digest = pdf.sha256(data or b"")
    match = next((r for r in rows if r.sha256 == digest), None)
    return Verdict(number, bool(rows), match is not None, match or (rows[0] if rows else None))


def subjects_per_block(periods: int) -> int:
    """Subjects per summary table: a quarter class 5 (4 quarters and the year), a half-year class 8."""
    return max(1, GRADE_COLUMNS_PER_BLOCK // max(periods, 1))


def summary_pdf(scope: Scope, class_id, today: dt.date | None = None) -> tuple[ClassUnit, bytes]:
    """The class summary sheet (сводная ведомость) as a landscape PDF, from the summary service."""
    cls = db.session.get(ClassUnit, class_id) if class_id is not None else None
    if not visible_summary(scope, cls):
        raise RuleViolation(NOT_FOUND["class"], "class")
    data = summary_sheet(cls)
    per_block = subjects_per_block(len(data["periods"]))
    blocks = [data["subjects"][i:i + per_block] for i in range(0, len(data["subjects"]), per_block)] or [[]]
    metric_rows = [("n", "N"), ("success", "Успеваемость, %"), ("quality", "Качество, %"), ("sou", "СОУ, %"),
                   ("average", "Средний балл")]
    title = f"Сводная ведомость итоговых отметок {cls.name} класса, {data['year'].name} учебный год"
    today = today or clock.today()
    html = render_template("extracts/summary.html", d=data, blocks=blocks, metric_rows=metric_rows,
                           printed_on=today, fonts=pdf.font_css(), title=title)
    footer = f"Сводная ведомость {cls.name} · {today:%d.%m.%Y}"
    return cls, pdf.merge([[pdf.html_to_pdf(html)]], [footer], title)[0]
