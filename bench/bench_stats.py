"""Statistics speed on the school dataset: the school-wide results of one period (service time and
SQL statements), and the dashboard page and the REST call as the administration sees them."""
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import FinalGrade, FinalStatus, ReportingPeriod  # noqa: E402
from bench.common import count_statements, median_time, school_app  # noqa: E402

TODAY = "2026-11-20"  # the first quarter has ended: the demo closes it with finals


def period_with_finals() -> tuple[int, int]:
    """(period id, final finals) of the period with the most confirmed finals; (0, 0) if none."""
    row = db.session.execute(select(FinalGrade.period_id, func.count()).where(FinalGrade.status == FinalStatus.final)
                             .group_by(FinalGrade.period_id).order_by(func.count().desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, 0)


def main() -> None:
    from app.services.stats import Filters, results

    app = school_app(TODAY)
    with app.app_context():
        period_id, finals = period_with_finals()
        if not finals:
            raise SystemExit("the demo has no final grades to measure (it closes the first quarter with finals)")
        period = db.session.get(ReportingPeriod, period_id)
        app.config["SCHOOL_TODAY"] = TODAY
        with count_statements() as statements:
            data = results(Filters(period))
        seconds = median_time(lambda: results(Filters(period)))
        title, classes, school = period.title, len(data["classes"]), data["school"]
    print(f"school-wide results statistics: {title}, {classes} classes, {finals} final grades")
    print(f"  N {school['n']}, успеваемость {school['success']} %, качество {school['quality']} %, "
          f"СОУ {school['sou']} %, average {school['average']}")
    print(f"  SQL statements: {statements[0]}")
    print(f"  service time (median of 5): {seconds * 1000:.0f} ms")
    client = app.test_client()
    client.post("/login/", data={"username": "director", "password": "demo"})
    for label, url in (("dashboard page /stats/", f"/stats/?period_id={period_id}"),
                       ("GET /api/v1/stats/results", f"/api/v1/stats/results?period_id={period_id}")):
        with app.app_context():
            client.get(url)
            with recorded() as seen:
                response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            seconds = median_time(lambda url=url: client.get(url))
        fab = sum("ab_permission_view" in s for s in seen)
        print(f"  {label}: {len(seen)} SQL statements ({fab} of them FAB's menu and permission checks), "
              f"{seconds * 1000:.0f} ms (median of 5)")


@contextlib.contextmanager
def recorded():
    """The SQL statements sent while the block runs."""
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


if __name__ == "__main__":
    main()
