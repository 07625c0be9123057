"""What the statistics token's triggers cost a finals sheet save: 30 finals of one class changed as the ORM
flushes them (one UPDATE per row, executemany) with the per-school row-level triggers (migration
0017_stats_cache), with the previous design (one global token row; PostgreSQL one statement-level trigger,
SQLite a row-level one) and with no trigger, each timed in the same transaction, which is rolled back. The
app's statements are the same in every case: the triggers run inside the database. SQLite in a temp dir;
PostgreSQL too when BENCH_POSTGRES_URL is set (its public schema is dropped first)."""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from app.extensions import db  # noqa: E402
from app.models import Enrolment, FinalGrade  # noqa: E402
from bench.common import databases, school_app  # noqa: E402

TODAY = "2026-11-20"  # the demo has closed the first quarter with finals
SAVES = 200
ROWS = 30
UPDATE = "UPDATE final_grade SET value = :value WHERE id = :id"
PG_GLOBAL = """CREATE TABLE bench_token (id integer PRIMARY KEY, token text);
INSERT INTO bench_token VALUES (1, '');
CREATE FUNCTION bench_renew() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN UPDATE bench_token SET token = gen_random_uuid()::text; RETURN NULL; END $$;
CREATE TRIGGER bench_global AFTER UPDATE OF value ON final_grade FOR EACH STATEMENT EXECUTE FUNCTION bench_renew()"""
SQLITE_GLOBAL = ["CREATE TABLE bench_token (id integer PRIMARY KEY, token text)",
                 "INSERT INTO bench_token VALUES (1, '')",
                 "CREATE TRIGGER bench_global AFTER UPDATE OF value ON final_grade FOR EACH ROW BEGIN"
                 " UPDATE bench_token SET token = lower(hex(randomblob(16))); END"]


def class_finals() -> list[int]:
    """30 final grades of one class's subject in one period."""
    cell = db.session.execute(select(FinalGrade.period_id, FinalGrade.subject_id, Enrolment.class_unit_id)
                              .join(Enrolment, Enrolment.student_id == FinalGrade.student_id)
                              .group_by(FinalGrade.period_id, FinalGrade.subject_id, Enrolment.class_unit_id)
                              .order_by(func.count().desc()).limit(1)).one()
    return db.session.scalars(select(FinalGrade.id).join(Enrolment, Enrolment.student_id == FinalGrade.student_id)
                              .where(FinalGrade.period_id == cell[0], FinalGrade.subject_id == cell[1],
                                     Enrolment.class_unit_id == cell[2]).order_by(FinalGrade.id).limit(ROWS)).all()


def median_save(conn, ids: list[int]) -> float:
    """Median ms of one save: every row's value changed (alternately 5 and 4, so the WHEN always fires)."""
    times = []
    for n in range(SAVES):
        rows = [{"id": i, "value": "5" if n % 2 else "4"} for i in ids]
        started = time.perf_counter()
        conn.execute(text(UPDATE), rows)
        times.append(time.perf_counter() - started)
    return sorted(times)[len(times) // 2] * 1000


def measure(name: str, url: str | None) -> None:
    app = school_app(TODAY, url=url)
    with app.app_context():
        ids = class_finals()
        db.session.remove()
        postgresql = db.engine.dialect.name == "postgresql"
        with db.engine.connect() as conn:
            transaction = conn.begin()
            median_save(conn, ids)  # warm-up
            now = median_save(conn, ids)
            if postgresql:
                conn.execute(text("ALTER TABLE final_grade DISABLE TRIGGER stats_version_final_grade_update"))
                none = median_save(conn, ids)
                conn.execute(text(PG_GLOBAL))
            else:
                conn.execute(text("DROP TRIGGER stats_version_final_grade_update"))  # undone by the rollback
                none = median_save(conn, ids)
                for statement in SQLITE_GLOBAL:
                    conn.execute(text(statement))
            before = median_save(conn, ids)
            transaction.rollback()
        print(f"{name}: a save of {len(ids)} finals, median of {SAVES}: per-school row triggers {now:.2f} ms,"
              f" the one global token {before:.2f} ms, no trigger {none:.2f} ms")


def main() -> None:
    for name, url in databases():
        measure(name, url)


if __name__ == "__main__":
    main()
