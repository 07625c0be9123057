"""Shared bench helpers: a fresh database with the school-size demo, statement counting, the rows of
`make bench`'s table (a figure, its baseline, the ratio and the target)."""
import contextlib
import os
import tempfile
import time

from sqlalchemy import event, text

from app import create_app
from app.extensions import db


def databases() -> list[tuple[str, str | None]]:
    """(name, url) of the databases a bench measures: SQLite (url None: a new file), and PostgreSQL when
    BENCH_POSTGRES_URL is set."""
    found = [("SQLite", None)]
    if os.environ.get("BENCH_POSTGRES_URL"):
        found.append(("PostgreSQL", os.environ["BENCH_POSTGRES_URL"]))
    return found


def school_app(today: str, size: str = "school", url: str | None = None):
    """An app with `school init` and the demo loaded; prints the load time. `url`: a PostgreSQL database
    whose public schema is dropped first (e.g. BENCH_POSTGRES_URL); default a new SQLite file."""
    url = url or "sqlite:///" + os.path.join(tempfile.mkdtemp(prefix="bench-"), "bench.db")
    app = create_app("config.Config", {"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False})
    runner = app.test_cli_runner()
    with app.app_context():
        if url.startswith("postgresql"):
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        assert runner.invoke(args=["school", "init"]).exit_code == 0
        started = time.perf_counter()
        result = runner.invoke(args=["school", "demo", "--size", size, "--seed", "1", "--today", today])
        assert result.exit_code == 0, result.output
        print(f"demo --size {size} --today {today}: {time.perf_counter() - started:.1f} s")
        print("  " + "\n  ".join(result.output.splitlines()[1:3]))
    return app


@contextlib.contextmanager
def statements(app=None):
    """The SQL statements sent while the block runs, in order: `with statements() as seen: ...; len(seen)`.
    With `app`, the block need not run in its app context (a request timed as served, in its own)."""
    seen: list[str] = []

    def before(_conn, _cursor, statement, *_args):
        seen.append(statement)

    if app is None:
        engine = db.engine
    else:
        with app.app_context():
            engine = db.engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def median_times(*calls, runs: int = 9) -> list[float]:
    """Median wall time of each call in seconds, the calls run in turn `runs` times: a figure and its
    baseline measured one after the other drifted apart with the shared machine (a page's ratio 2.3× and
    3.7× in two runs of one code, its baseline within a tenth)."""
    times = [[] for _ in calls]
    for _ in range(runs):
        for call, taken in zip(calls, times):
            started = time.perf_counter()
            call()
            taken.append(time.perf_counter() - started)
    return [sorted(t)[len(t) // 2] for t in times]


def median_time(call, runs: int = 5) -> float:
    """Median wall time of `call()` in seconds."""
    return median_times(call, runs=runs)[0]


def row(what: str, value: float, baseline: float | None = None, target: str = "", unit: str = "") -> None:
    """One row of the bench table: the figure, its baseline and their ratio when there is one, the target."""
    figure = f"{value:g}{unit}"
    if baseline:
        figure += f" vs {baseline:g}{unit} baseline = {value / baseline:.2f}×"
    print(f"  {what}: {figure}" + (f"  (target {target})" if target else ""))
