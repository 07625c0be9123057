"""Statistics speed on the school dataset: the school-wide results of one period through the REST call the
administration uses, warm (served from app.services.stats_cache: the target) and cold (the cache emptied
before each call: the first call after a change), against a baseline — one raw GROUP BY of the same counts
(N and the distribution of the period's finals per class × subject) — and the SQL statements of the service
and of the call. SQLite in a temp dir; PostgreSQL too when BENCH_POSTGRES_URL is set (its public schema is
dropped first)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import FinalGrade, FinalStatus, PeriodKind, ReportingPeriod  # noqa: E402
from bench.common import databases, median_time, row, school_app, statements  # noqa: E402

TODAY = "2026-11-20"  # the first quarter has ended: the demo closes it with finals
RUNS = 11
WARM_UP = 5  # runs before timing, of the call and of the baseline

# The baseline: the figures' core count, finals of the period by the class the student is in at its end.
BASELINE = """SELECT e.class_unit_id, f.subject_id, f.value, count(*) FROM final_grade f
JOIN enrolment e ON e.student_id = f.student_id AND e.start <= :end AND (e."end" IS NULL OR e."end" >= :end)
WHERE f.period_id = :period AND f.status = 'final' AND f.value IS NOT NULL
GROUP BY e.class_unit_id, f.subject_id, f.value"""


def period_with_finals() -> tuple[int, int]:
    """(period id, final finals) of the term (not a year: last year's annual finals have no teachers of
    this year) with the most confirmed finals; (0, 0) if none."""
    found = db.session.execute(select(FinalGrade.period_id, func.count()).join(ReportingPeriod)
                               .where(FinalGrade.status == FinalStatus.final, ReportingPeriod.kind != PeriodKind.year)
                               .group_by(FinalGrade.period_id).order_by(func.count().desc()).limit(1)).first()
    return (found[0], found[1]) if found else (0, 0)


def measure(name: str, url: str | None) -> None:
    """Load the demo into one database and print its rows of the table."""
    from app.services import stats_cache
    from app.services.stats import Filters, results

    app = school_app(TODAY, url=url)
    app.config["SCHOOL_TODAY"] = TODAY
    client = app.test_client()
    client.post("/login/", data={"username": "director", "password": "demo"})
    with app.app_context():
        period_id, finals = period_with_finals()
        if not finals:
            raise SystemExit("the demo has no final grades to measure (it closes the first quarter with finals)")
        period = db.session.get(ReportingPeriod, period_id)
        params = {"end": period.end, "period": period_id}
        data = results(Filters(period))
        school = data["school"]
        print(f"{name}: school-wide results of {period.title}, {len(data['classes'])} classes, "
              f"{len(data['teachers'])} teachers, {finals} final grades")
        print(f"  N {school['n']}, успеваемость {school['success']} %, качество {school['quality']} %, "
              f"СОУ {school['sou']} %, average {school['average']}")
        with statements() as service_statements:
            results(Filters(period))
        for _ in range(WARM_UP):
            db.session.execute(text(BASELINE), params).all()
        baseline = median_time(lambda: db.session.execute(text(BASELINE), params).all(), RUNS)
        service = median_time(lambda: results(Filters(period)), RUNS)
    # The call and the page outside any app context, each in its own as when served: an outer one would keep
    # the user in its g and the loaded rows in its session between requests.
    url_of = f"/api/v1/stats/results?period_id={period_id}"
    for _ in range(WARM_UP):  # as the baseline: PostgreSQL's connection prepares a statement at its fifth run
        stats_cache.clear()
        assert client.get(url_of).status_code == 200
    stats_cache.clear()
    with statements(app) as cold_statements:
        client.get(url_of)
    with statements(app) as call_statements:
        client.get(url_of)
    page_of = f"/stats/?period_id={period_id}"
    assert client.get(page_of).status_code == 200
    with statements(app) as page_statements:
        client.get(page_of)
    page = median_time(lambda: client.get(page_of), RUNS)
    call = median_time(lambda: client.get(url_of), RUNS)
    cold = median_time(lambda: (stats_cache.clear(), client.get(url_of)), RUNS)
    row(f"{name}: GET /api/v1/stats/results (warm: served from the cache), median of {RUNS}", round(call * 1000, 1),
        round(baseline * 1000, 1), "≤ 2.5×", " ms")
    row(f"{name}: GET /api/v1/stats/results, cold: the first call after a change, median of {RUNS}",
        round(cold * 1000, 1), round(baseline * 1000, 1), "", " ms")
    row(f"{name}: services.stats.results, median of {RUNS}", round(service * 1000, 1), round(baseline * 1000, 1),
        "", " ms")
    row(f"{name}: SQL statements of the service", len(service_statements), None,
        f"constant; the call {len(call_statements)} warm, {len(cold_statements)} cold; the dashboard page "
        f"{len(page_statements)} warm")
    row(f"{name}: the dashboard page /stats/ (results, curriculum, attendance), median of {RUNS}",
        round(page * 1000, 1), unit=" ms")


def main() -> None:
    for name, url in databases():
        measure(name, url)


if __name__ == "__main__":
    main()
