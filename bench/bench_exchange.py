"""Portal exchange speed (issue 7): the exchange job sends N queued `mark` messages (default 100 000) to the
portal simulator, against a bare loop POSTing the same envelopes in the same batches; messages per second of
each (`--pairs` runs of the two in turn, the median pair reported), and the job's peak memory for N/10 and N
messages (it streams in batches, so it must not grow with N).

Every distinct payload is checked against the message schema here first; the simulator checks every
`--schema-every`-th message (jsonschema costs milliseconds a message and would be all the simulator measures).
Memory is the tracemalloc peak of the job: as it runs («raw»: includes cyclic garbage the collector has not
reached yet) and with a gc.collect() after each batch («live»: what the job holds).
SQLite in a temp dir; PostgreSQL too when BENCH_POSTGRES_URL is set (its public schema is dropped first).
"""
import argparse
import datetime as dt
import gc
import json
import os
import sys
import tempfile
import time
import tracemalloc
import uuid
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import delete, func, insert, select, update  # noqa: E402
from sqlalchemy.orm import selectinload  # noqa: E402

from app.exchange.simulator import Running  # noqa: E402
from app.extensions import db  # noqa: E402
from app.models import Mark, OutboxMessage, OutboxStatus, School, Student  # noqa: E402
from bench.common import row, school_app  # noqa: E402

TODAY = "2026-11-20"
SECRET = "bench-portal-secret"
BATCH = 500
CHUNK = 5000  # rows per bulk insert
SAMPLES = 3000  # distinct real marks the messages cycle through


def exchange_app(url: str):
    """An app on a fresh, migrated database (`school init`) with the small demo school loaded."""
    app = school_app(TODAY, "small", url)
    app.config["SCHOOL_TODAY"] = TODAY
    return app


def samples() -> list[tuple[int, int, dict]]:
    """(student id, school id, payload) of real marks of consented students, described as the capture does."""
    from app.exchange import payloads
    from app.services.consent import electronic_recipients

    consented = electronic_recipients(db.session.scalars(select(Student.id).where(Student.left_on.is_(None))).all())
    marks = db.session.scalars(select(Mark).where(Mark.student_id.in_(sorted(consented)))
                               .options(*payloads.KINDS[Mark].loads).order_by(Mark.id).limit(SAMPLES)).all()
    return [(m.student_id, m.school_id, payloads.describe(m)[1]) for m in marks]


def blocks() -> tuple[dict, dict]:
    """The envelope's student and school blocks of every student and school."""
    from app.exchange import payloads

    students = db.session.scalars(select(Student).options(selectinload(Student.class_unit))).all()
    return ({s.id: payloads.student_block(s) for s in students},
            {s.id: payloads.school_block(s) for s in db.session.scalars(select(School))})


def check_schema(found: list[tuple[int, int, dict]], students: dict, schools: dict) -> None:
    """Every sample payload makes a valid message (the simulator would reject it otherwise)."""
    from types import SimpleNamespace

    from app.exchange.schema import envelope, errors
    from app.services import clock

    for student_id, school_id, payload in found:
        row = SimpleNamespace(id=1, key=uuid.uuid4().hex, kind="mark", created_at=clock.utcnow(), payload=payload)
        problems = errors(envelope(row, students[student_id], schools[school_id]))
        assert not problems, problems


def fill_outbox(n: int, found: list[tuple[int, int, dict]]) -> float:
    """Empty the outbox and queue `n` mark messages by Core bulk inserts in chunks; seconds taken."""
    from app.exchange.capture import message_row
    from app.services import clock

    started = time.perf_counter()
    db.session.execute(delete(OutboxMessage))
    now = clock.utcnow()
    for start in range(0, n, CHUNK):
        rows = []
        for i in range(start, min(n, start + CHUNK)):
            student_id, school_id, payload = found[i % len(found)]
            rows.append(message_row("mark", student_id, school_id, payload, now, "mark", payload["id"],
                                    payload["version"]))
        db.session.connection().execute(insert(OutboxMessage.__table__), rows)
        db.session.commit()
    return time.perf_counter() - started


def requeue(n: int) -> None:
    """Put the first `n` messages back in the queue, due now (the simulator is reset separately)."""
    from app.services import clock

    first = db.session.scalar(select(func.min(OutboxMessage.id)))
    db.session.execute(update(OutboxMessage).where(OutboxMessage.id < first + n).values(
        status=OutboxStatus.queued, attempts=0, next_attempt_at=clock.utcnow(), accepted_at=None, claimed_until=None,
        worker=""))
    db.session.commit()


def accepted_in_outbox() -> int:
    """Messages the outbox holds as accepted."""
    return db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.status == OutboxStatus.accepted))


def run_job(simulator: Running, report=None):
    """The exchange job once over the whole due outbox; (Run, seconds)."""
    from app.exchange.sender import run
    from app.exchange.transport import HttpPortal

    db.session.remove()
    with HttpPortal(simulator.url, SECRET, timeout=30) as portal:
        started = time.perf_counter()
        result = run(once=True, portal=portal, worker="bench", batch=BATCH, deliver=False, report=report)
        seconds = time.perf_counter() - started
    db.session.remove()
    return result, seconds


def bare_loop(simulator: Running, students: dict, schools: dict) -> tuple[int, float]:
    """Read the outbox in id order in batches, build the same envelopes and POST them signed with a plain
    httpx client; (accepted receipts, seconds)."""
    from app.exchange.schema import envelope
    from app.exchange.transport import sign

    q = OutboxMessage.__table__.c  # the payload decoded, as a plain loop reads a JSON column
    columns = (q.id, q.key, q.kind, q.student_id, q.school_id, q.created_at, q.payload, q.attempts)

    accepted, last = 0, 0
    with httpx.Client(timeout=30) as client:
        started = time.perf_counter()
        while rows := db.session.execute(select(*columns).where(OutboxMessage.id > last)
                                         .order_by(OutboxMessage.id).limit(BATCH)).all():
            last = rows[-1].id
            batch = uuid.uuid4().hex
            body = json.dumps({"batch": batch, "messages": [envelope(r, students[r.student_id], schools[r.school_id])
                                                            for r in rows]},
                              ensure_ascii=False, separators=(",", ":")).encode()
            response = client.post(simulator.url, content=body, headers={
                "Content-Type": "application/json; charset=utf-8", "X-Signature": sign(body, SECRET),
                "Idempotency-Key": batch})
            response.raise_for_status()
            accepted += sum(r["status"] == "accepted" for r in response.json()["receipts"])
        seconds = time.perf_counter() - started
    db.session.rollback()
    return accepted, seconds


def job_memory(simulator: Running, n: int, live: bool) -> int:
    """Peak bytes the job allocates (tracemalloc) sending `n` due messages; with `live`, collecting
    garbage after each batch."""
    requeue(n)
    simulator.reset()
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        result, _seconds = run_job(simulator, (lambda _run: gc.collect()) if live else None)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert result.accepted == n and simulator.state()["accepted"] == n, (result, simulator.state())
    return peak


def prune_all() -> float:
    """`exchange prune` of every accepted message (all N, accepted today): seconds."""
    from app.exchange.outbox import prune
    from app.services import clock

    started = time.perf_counter()
    moved = prune(clock.utcnow() + dt.timedelta(seconds=1))
    seconds = time.perf_counter() - started
    assert moved == accepted_archived() and accepted_in_outbox() == 0
    print(f"prune: {moved} accepted messages moved to the archive in {seconds:.1f} s")
    return seconds


def accepted_archived() -> int:
    from app.models import OutboxArchive

    return db.session.scalar(select(func.count()).select_from(OutboxArchive))


def job_and_bare(simulator: Running, n: int, students: dict, schools: dict, again: bool) -> tuple[float, float]:
    """One pair: the job over the whole due outbox (queued `again` after an earlier pair), then the bare loop;
    (seconds of each)."""
    if again:
        requeue(n)
    simulator.reset()
    result, job = run_job(simulator)
    state = simulator.state()
    assert result.accepted == n and state["accepted"] == n and state["rejected"] == 0, (result, state)
    assert accepted_in_outbox() == n
    simulator.reset()
    accepted, bare = bare_loop(simulator, students, schools)
    assert accepted == n and simulator.state()["accepted"] == n, (accepted, simulator.state())
    print(f"job: {n} messages in {job:.2f} s ({n / job:.0f} msg/s, {result.batches} batches of {BATCH}); "
          f"bare loop: {bare:.2f} s ({n / bare:.0f} msg/s); job/bare {bare / job:.2f}")
    return job, bare


def bench(label: str, url: str, n: int, simulator: Running, pairs: int) -> dict:
    """Every measurement on one database."""
    print(f"== {label} ==")
    app = exchange_app(url)
    app.config["PORTAL_URL"], app.config["PORTAL_SECRET"] = simulator.url, SECRET
    with app.app_context():
        try:
            found = samples()
            students, schools = blocks()
            check_schema(found, students, schools)
            seconds = fill_outbox(n, found)
            print(f"outbox: {n} queued mark messages ({len(found)} distinct marks of "
                  f"{len({s for s, _, _ in found})} consented students) inserted in {seconds:.1f} s")

            runs = [job_and_bare(simulator, n, students, schools, again=i > 0) for i in range(pairs)]
            job, bare = sorted(runs, key=lambda r: r[1] / r[0])[len(runs) // 2]  # the median pair

            small = max(n // 10, BATCH)
            memory = {(k, live): job_memory(simulator, k, live) for live in (False, True) for k in (small, n)}
            for live in (False, True):
                print(f"job peak memory, {'live' if live else 'raw'}: " + ", ".join(
                    f"{k} messages {memory[k, live] / 2**20:.1f} MiB" for k in (small, n)))
            pruned = prune_all()
        finally:
            db.session.remove()
            db.engine.dispose()
    return {"db": label, "n": n, "job": n / job, "bare": n / bare, "ratio": bare / job,
            "ratios": [b / j for j, b in runs],
            "memory": [memory[k, live] / 2**20 for live in (False, True) for k in (small, n)], "prune": pruned}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000, help="outbox size N (default 100000)")
    parser.add_argument("--pairs", type=int, default=3, metavar="P",
                        help="job and bare loop run in turn P times, the median pair reported (default 3): "
                             "single runs on a shared 2-core machine swing by a fifth")
    parser.add_argument("--schema-every", type=int, default=100, metavar="K",
                        help="the simulator checks the schema of every Kth message (default 100; 1: all)")
    args = parser.parse_args()
    n = args.messages
    results = []
    with ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-exchange-"))
        simulator = Running(SECRET, schema_every=args.schema_every, cwd=ROOT)
        stack.callback(simulator.stop)
        databases = [("SQLite", f"sqlite:///{tmp}/bench.db")]
        if os.environ.get("BENCH_POSTGRES_URL"):
            databases.append(("PostgreSQL", os.environ["BENCH_POSTGRES_URL"]))
        for label, url in databases:
            results.append(bench(label, url, n, simulator, args.pairs))
    print(f"\nN = {n} messages, batches of {BATCH}, simulator schema check every {args.schema_every}; "
          f"the median of {args.pairs} job/bare pairs; job peak memory in MiB (tracemalloc)")
    print(f"{'database':<11} {'job msg/s':>10} {'bare msg/s':>11} {'job/bare':>9} "
          f"{'raw N/10':>9} {'raw N':>6} {'live N/10':>10} {'live N':>7}")
    for r in results:
        print(f"{r['db']:<11} {r['job']:>10.0f} {r['bare']:>11.0f} {r['ratio']:>9.2f} "
              f"{r['memory'][0]:>9.1f} {r['memory'][1]:>6.1f} {r['memory'][2]:>10.1f} {r['memory'][3]:>7.1f}")
    print()
    for r in results:
        row(f"exchange job vs a bare signed POST loop of the same batches, {r['db']} (median pair; pairs "
            + ", ".join(f"{x:.2f}" for x in r["ratios"]) + ")", round(r["job"]), round(r["bare"]), "≥ 0.75×", " msg/s")
        row(f"exchange prune of {n} accepted messages, {r['db']}", round(r["prune"], 1), unit=" s")


if __name__ == "__main__":
    main()
