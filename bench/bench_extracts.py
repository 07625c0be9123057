"""Extract printing speed: a 30-student class batch as one PDF (HTML here, each different part converted
once in the process pool on every core, merged, footers stamped) against the issue's baseline, 30
sequential bare `pisa.CreatePDF` calls of the same extracts, each one HTML document with its footer
and page numbers laid out by xhtml2pdf; and against the same HTML without the page numbers (one
layout per document: the floor of converting them one by one)."""
import datetime as dt
import io
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import ClassUnit, Enrolment, ExtractLog, ReportingPeriod  # noqa: E402
from bench.common import row, school_app  # noqa: E402

TODAY = "2026-11-20"
TODAY_DATE = dt.date.fromisoformat(TODAY)
SIZE = 30


def biggest_class() -> tuple[ClassUnit, ReportingPeriod]:
    """The class with the most students, and the first quarter of its year."""
    class_id = db.session.execute(select(Enrolment.class_unit_id, func.count()).group_by(Enrolment.class_unit_id)
                                  .order_by(func.count().desc()).limit(1)).first()[0]
    cls = db.session.get(ClassUnit, class_id)
    period = db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.year_id == cls.year_id,
                                                             ReportingPeriod.kind == cls.period_kind)
                               .order_by(ReportingPeriod.start).limit(1))
    return cls, period


def whole_extracts(order, today) -> tuple[list[str], list[str]]:
    """Each extract of the order as one HTML document, with and without its footer «стр. N из M» laid
    out by xhtml2pdf (<pdf:pagecount>), as extracts were printed before the footer was stamped."""
    from flask import render_template

    from app.services import pdf
    from app.services.extracts import extract_footer
    from app.services.extracts_data import extract_data

    plain, numbered = [], []
    for (student, period), log in zip(order.items, order.logs, strict=True):
        data = extract_data(student, period, order.sections, order.start, order.end)
        html = render_template("extracts/extract.html", data=data, part="whole", number=log.number,
                               printed_on=today, fonts=pdf.font_css())
        footer = extract_footer(log.number, today, student)
        plain.append(html)
        numbered.append(html.replace("</body>", f'<div id="footer">{footer} · стр. <pdf:pagenumber> из '
                                                f'<pdf:pagecount></div></body>'))
    return plain, numbered


def bare(htmls: list[str]) -> float:
    """Seconds of sequential bare pisa.CreatePDF calls, nothing else."""
    from xhtml2pdf import pisa

    started = time.perf_counter()
    for html in htmls:
        assert not pisa.CreatePDF(html, dest=io.BytesIO(), encoding="utf-8").err
    return time.perf_counter() - started


def main() -> None:
    from app.services import pdf
    from app.services.extracts import class_list, make_order, print_order, system_printer
    from app.services.extracts_data import SECTIONS

    app = school_app(TODAY)
    app.config["SCHOOL_TODAY"] = TODAY
    with app.app_context(), app.test_request_context():
        cls, period = biggest_class()
        printer = system_printer("bench")
        students = class_list(cls, period)
        while len(students) < SIZE:  # a small class is padded with its own students again
            students += students[:SIZE - len(students)]
        order = make_order(printer, period_id=period.id, class_id=cls.id, sections=SECTIONS, today=period.end)
        order.items = [(s, period) for s in students[:SIZE]]
        pdf.pool().submit(pdf._warm).result()  # start the workers outside the measurement
        started = time.perf_counter()
        data = print_order(printer, order, TODAY_DATE, parallel=True)
        batch = time.perf_counter() - started
        plain, numbered = whole_extracts(order, TODAY_DATE)
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(ExtractLog)) == 0
        name, title = cls.name, period.title
    baseline, unnumbered = bare(numbered), bare(plain)
    pages, cores = pdf.page_count(data), pdf.pool()._max_workers
    pdf.pool().shutdown()
    print(f"extracts of {name} ({SIZE} students, {title}, every section), {pages} pages, pool of {cores}:")
    row(f"{SIZE} extracts, pooled batch vs {SIZE} sequential bare pisa.CreatePDF of the same documents",
        round(batch, 2), round(baseline, 2), "≤ 0.3×", " s")
    row("  the same batch vs bare pisa.CreatePDF of the same HTML without page numbers",
        round(batch, 2), round(unnumbered, 2), "", " s")
    print(f"  batch: {pages / batch:.1f} pages/s")


if __name__ == "__main__":
    main()
