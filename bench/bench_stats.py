"""Statistics speed on the school dataset: the school-wide results of one period (service time and
SQL statements), and the dashboard page and the REST call as the administration sees them."""
import contextlib
import datetime as dt
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, select, update  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import FinalGrade, FinalStatus, ReportingPeriod, TeachingAssignment  # noqa: E402
from bench.common import count_statements, median_time, school_app  # noqa: E402

TODAY = "2026-11-20"  # the first quarter has ended: the demo closes it with finals


def period_with_finals() -> tuple[int, int]:
    """(period id, final finals) of the period with the most confirmed finals; (0, 0) if none."""
    row = db.session.execute(select(FinalGrade.period_id, func.count()).where(FinalGrade.status == FinalStatus.final)
                             .group_by(FinalGrade.period_id).order_by(func.count().desc()).limit(1)).first()
    return (row[0], row[1]) if row else (0, 0)


def finals_from_proposals() -> int:
    """No finals in the demo yet: propose the first ended period's finals and confirm every proposal
    (the bench database only)."""
    from app.security.scope import Scope
    from app.services.finals import follows, propose_finals
    from app.services.journal import Actor

    period = db.session.scalar(select(ReportingPeriod).where(ReportingPeriod.end < dt.date.fromisoformat(TODAY))
                               .order_by(ReportingPeriod.end.desc()).limit(1))
    actor = Actor("bench", Scope(everything=True), administration=True)
    assignments = select(TeachingAssignment).where(TeachingAssignment.year_id == period.year_id)
    for assignment in db.session.scalars(assignments):
        if follows(period, assignment):
            propose_finals(actor, assignment, period)
    db.session.execute(update(FinalGrade).where(FinalGrade.period_id == period.id,
                                                FinalGrade.status == FinalStatus.proposed,
                                                FinalGrade.proposed_value.is_not(None))
                       .values(value=FinalGrade.proposed_value, status=FinalStatus.final))
    db.session.commit()
    return period.id


def main() -> None:
    from app.services.stats import Filters, results

    app = school_app(TODAY)
    with app.app_context():
        period_id, finals = period_with_finals()
        if not finals:
            finals_from_proposals()
            period_id, finals = period_with_finals()
            print("  (the demo had no finals: the bench confirmed the proposals of the last ended period)")
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
