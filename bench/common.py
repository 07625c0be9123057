"""Shared bench helpers: a fresh SQLite database with the school-size demo, statement counting."""
import contextlib
import os
import tempfile
import time

from sqlalchemy import event

from app import create_app
from app.extensions import db


def school_app(today: str, size: str = "school"):
    """An app on a new SQLite file with `school init` and the demo loaded; prints the load time."""
    path = os.path.join(tempfile.mkdtemp(prefix="bench-"), "bench.db")
    app = create_app("config.Config", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "WTF_CSRF_ENABLED": False})
    runner = app.test_cli_runner()
    with app.app_context():
        assert runner.invoke(args=["school", "init"]).exit_code == 0
        started = time.perf_counter()
        result = runner.invoke(args=["school", "demo", "--size", size, "--seed", "1", "--today", today])
        assert result.exit_code == 0, result.output
        print(f"demo --size {size} --today {today}: {time.perf_counter() - started:.1f} s")
        print("  " + "\n  ".join(result.output.splitlines()[1:3]))
    return app


@contextlib.contextmanager
def count_statements():
    """Count SQL statements sent while the block runs: `with count_statements() as n: ...; n[0]`."""
    counter = [0]

    def before(*_args, **_kwargs):
        counter[0] += 1

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield counter
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def median_time(call, runs: int = 5) -> float:
    """Median wall time of `call()` in seconds."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2]
