"""Extract printing speed: a 30-student class batch as one PDF (HTML here, PDF in the process pool on
every core, merged) against 30 sequential single extracts; pages per second of each."""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import ClassUnit, Enrolment, ExtractLog, ReportingPeriod  # noqa: E402
from bench.common import school_app  # noqa: E402

TODAY = "2026-11-20"
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


def main() -> None:
    from app.services import pdf
    from app.services.extracts import class_list, make_order, print_order, system_printer
    from app.services.extracts_data import SECTIONS

    app = school_app(TODAY)
    app.config["SCHOOL_TODAY"] = TODAY
    with app.app_context():
        cls, period = biggest_class()
        printer = system_printer("bench")
        students = class_list(cls, period)
        while len(students) < SIZE:  # a small class is padded with its own students again
            students += students[:SIZE - len(students)]
        students = students[:SIZE]
        order = make_order(printer, period_id=period.id, class_id=cls.id, sections=SECTIONS, today=period.end)
        order.items = [(s, period) for s in students]
        pdf.pool().submit(pdf._warm).result()  # start the workers outside the measurement
        started = time.perf_counter()
        data = print_order(printer, order, parallel=True)
        batch = time.perf_counter() - started
        batch_pages = pdf.page_count(data)
        db.session.rollback()
        started, single_pages = time.perf_counter(), 0
        for student in students:
            one = make_order(printer, period_id=period.id, student_id=student.id, sections=SECTIONS,
                             today=period.end)
            single_pages += pdf.page_count(print_order(printer, one, parallel=False))
        sequential = time.perf_counter() - started
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(ExtractLog)) == 0
        name, title = cls.name, period.title
    cores = pdf.pool()._max_workers
    print(f"extracts of {name} ({SIZE} students, {title}, every section):")
    print(f"  class batch, one PDF, pool of {cores}: {batch:.1f} s, {batch_pages} pages, "
          f"{batch_pages / batch:.1f} pages/s")
    print(f"  {SIZE} sequential single extracts: {sequential:.1f} s, {single_pages} pages, "
          f"{single_pages / sequential:.1f} pages/s")
    print(f"  speed-up of the batch: {sequential / batch:.2f}×")
    pdf.pool().shutdown()


if __name__ == "__main__":
    main()
