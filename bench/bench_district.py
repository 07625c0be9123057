"""A district on one PostgreSQL database (issue 19): the demo school's grid page, cell save and school
statistics (`/api/v1/stats/results`) on a database of that school alone and on one where it is the first of
a district (`school demo --schools N`), as ratios (target ≤ 1.05 each), with their SQL statements.

The two databases are measured in turns (A, B, A, B, …): the machine's noise falls on both alike.
Database: BENCH_POSTGRES_URL (the district; `<name>_one` beside it is created for the lone school; both
public schemas are dropped first), else a throwaway cluster of bench_load's; skipped (exit 0, saying why)
without either.

    python bench/bench_district.py [--schools 20] [--size small|school] [--runs 9]
"""
import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, make_url, select, text  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Enrolment, Lesson, LessonStatus, TeachingAssignment, WorkType  # noqa: E402
from bench.bench_journal import biggest_grid  # noqa: E402
from bench.bench_load import Cluster  # noqa: E402
from bench.bench_stats import period_with_finals  # noqa: E402
from bench.common import row, school_app, statements  # noqa: E402
from tests.pg_databases import recreate_database  # noqa: E402

TODAY = "2026-11-20"  # the first quarter is closed with finals (statistics), the second runs (grid, save)
PASSWORD = "demo"


def beside(url: str, suffix: str) -> str:
    """A database next to `url` (same server and role), created empty."""
    base = make_url(url)
    other = base.set(database=f"{base.database}{suffix}")
    admin = create_engine(base.set(database="postgres"))
    recreate_database(admin, other.database)
    admin.dispose()
    return other.render_as_string(hide_password=False)


def analyze(app) -> None:
    """Fresh planner statistics after a bulk load, as autovacuum would give them soon after."""
    with app.app_context(), db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("ANALYZE"))


def subjects_of_bench(app) -> dict:
    """The demo school's biggest class grid (bench_journal's), its teacher, a held lesson, a student, a
    work type, and the period with the most finals (bench_stats's)."""
    with app.app_context():
        class_id, subject_id, period_id, _lessons = biggest_grid()
        assignment = db.session.scalar(select(TeachingAssignment).where(
            TeachingAssignment.class_unit_id == class_id, TeachingAssignment.subject_id == subject_id))
        lesson = db.session.scalar(select(Lesson.id).where(Lesson.assignment_id == assignment.id,
                                                           Lesson.status == LessonStatus.held,
                                                           Lesson.date <= dt.date.fromisoformat(TODAY))
                             .order_by(Lesson.date.desc()))
        student = db.session.scalar(select(Enrolment.student_id).where(Enrolment.class_unit_id == class_id)
                                    .order_by(Enrolment.student_id))
        work_type = db.session.scalar(select(WorkType.id).where(WorkType.school_id == assignment.school_id)
                                      .order_by(WorkType.id))
        return {"grid": f"/journal/grid?target=class_id&id={class_id}&subject={subject_id}&period={period_id}",
                "teacher": assignment.teacher.user.username, "cell": {
                    "kind": "mark", "lesson_id": lesson, "student_id": student, "work_type_id": work_type,
                    "period_id": period_id},
                "stats": f"/api/v1/stats/results?period_id={period_with_finals()[0]}"}


class School:
    """One database's app, signed in as the grid's teacher (pages, saves) and the director (JWT)."""

    def __init__(self, app, bench: dict):
        self.app, self.bench = app, bench
        app.config["SCHOOL_TODAY"] = TODAY
        self.teacher = app.test_client()
        signed_in = self.teacher.post("/login/", data={"username": bench["teacher"], "password": PASSWORD})
        assert signed_in.status_code == 302, bench["teacher"]
        token = app.test_client().post("/api/v1/security/login", json={
            "username": "director", "password": PASSWORD, "provider": "db", "refresh": False}).json["access_token"]
        self.auth = {"Authorization": f"Bearer {token}"}
        self.version, self.value = None, 4
        self.calls = {"grid page": self.page, "cell save": self.save, "statistics": self.stats}

    def page(self):
        return self.teacher.get(self.bench["grid"])

    def save(self):
        """The same cell, 4 and 5 in turns, each save on the version the last one returned."""
        self.value = 9 - self.value
        response = self.teacher.post("/journal/cell", json={**self.bench["cell"], "value": self.value,
                                                            "version": self.version})
        self.version = response.get_json()["cell"]["version"]
        return response

    def stats(self):
        """Computed each time (the cache emptied first): what could grow with the district is the computing."""
        from app.services import stats_cache

        stats_cache.clear()
        return self.app.test_client().get(self.bench["stats"], headers=self.auth)

    def timed(self, what: str) -> tuple[float, int]:
        """(seconds, SQL statements) of one call."""
        with self.app.app_context(), statements() as seen:
            started = time.perf_counter()
            response = self.calls[what]()
            seconds = time.perf_counter() - started
        assert response.status_code == 200, (what, response.status_code, response.get_data(as_text=True)[:300])
        return seconds, len(seen)


def load(url: str, schools: int, size: str):
    """The demo school on a fresh database, then the rest of the district; prints the load times."""
    app = school_app(TODAY, size, url)
    if schools > 1:
        with app.app_context():
            started = time.perf_counter()
            result = app.test_cli_runner().invoke(args=["school", "demo", "--size", size, "--seed", "1",
                                                        "--today", TODAY, "--schools", str(schools)])
            assert result.exit_code == 0, result.output
            print(f"demo --schools {schools} --size {size}: schools 2…{schools} in "
                  f"{time.perf_counter() - started:.1f} s")
    analyze(app)
    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--schools", type=int, default=20, help="schools of the district (default 20)")
    parser.add_argument("--size", choices=("small", "school"), default="small",
                        help="each school's size (default small: 20 school-size loads take most of an hour here)")
    parser.add_argument("--runs", type=int, default=9, help="timed calls of each kind per database (median)")
    args = parser.parse_args()
    url, cluster = os.environ.get("BENCH_POSTGRES_URL"), None
    if not url:
        cluster = Cluster()
        if cluster.missing():
            print(f"bench_district: skipped — BENCH_POSTGRES_URL is not set and {cluster.missing()}")
            return 0
    try:
        url = url or cluster.start()
        lone, district = load(beside(url, "_one"), 1, args.size), load(url, args.schools, args.size)
        bench = subjects_of_bench(lone)
        # School 1 is loaded first from the same seed in both: the same ids, the same URLs.
        apps = {"one": School(lone, bench), "district": School(district, bench)}
        report(apps, args)
    finally:
        if cluster:
            cluster.stop()
    return 0


def report(apps: dict, args) -> None:
    """Warm up, then the calls in turns on both databases; a row per call: time and statements."""
    for school in apps.values():
        for what in school.calls:
            school.timed(what)
    pages = {name: school.page().get_data(as_text=True).count("<tr data-student=") for name, school in apps.items()}
    assert pages["one"] == pages["district"] > 0, f"not the same grid on both databases: {pages}"
    figures = {(name, what): [] for name in apps for what in apps[name].calls}
    for _ in range(args.runs):
        for what in apps["one"].calls:
            for name, school in apps.items():
                figures[(name, what)].append(school.timed(what))
    print(f"district of {args.schools} × {args.size} vs the demo school alone (PostgreSQL, median of {args.runs}):")
    for what in apps["one"].calls:
        one, many = (statistics.median(s for s, _n in figures[(name, what)]) * 1000 for name in ("one", "district"))
        row(f"{what}, {args.schools} schools vs 1", round(many, 1), round(one, 1), "≤ 1.05", " ms")
        statements = {name: sorted({n for _s, n in figures[(name, what)]}) for name in apps}
        row(f"{what}, SQL statements, {args.schools} schools vs 1", statements["district"][-1], statements["one"][-1],
            "the same")
        if len(statements["one"] + statements["district"]) > 2:
            print(f"    (statements vary between calls: alone {statements['one']}, district {statements['district']})")


if __name__ == "__main__":
    sys.exit(main())
