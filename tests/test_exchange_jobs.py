"""The exchange's command line and the 24-hour rule: `exchange run|status|sla|retry|sync` with their exit
codes, the SLA report on crafted late and nearly late results, and — on PostgreSQL — two worker
processes sending one outbox: every message accepted exactly once."""
import datetime as dt
import os
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select

from app.exchange import sla
from app.exchange.capture import message_row
from app.extensions import db
from app.models import Decision, ExamKind, ExamResult, FinalGrade, FinalStatus, FinalValue, OutboxMessage
from app.services import clock
from tests.consent_helpers import record, ru
from tests.finals_helpers import q1
from tests.test_exchange_outbox import mark, outbox
from tests.test_exchange_sender import queue_marks, statuses

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

ROOT = Path(__file__).resolve().parent.parent


def final(world, kid: str, hours_ago: float, published_after: float | None = None) -> FinalGrade:
    """A final decided `hours_ago`, acknowledged `published_after` hours after the decision (or not)."""
    student = world.students[kid]
    decided = clock.utcnow() - dt.timedelta(hours=hours_ago)
    row = FinalGrade(school_id=student.school_id, student_id=student.id, subject_id=world.subjects["math"].id,
                     period_id=q1(world).id, value=FinalValue.four, status=FinalStatus.final,
                     result_date=decided.date(), decided_by="teacher", decided_at=decided,
                     published_at=None if published_after is None else decided + dt.timedelta(hours=published_after))
    db.session.add(row)
    db.session.commit()
    return row


def test_sla_lists_late_and_nearly_late_results_of_electronic_families(world, runner):
    record(world)
    record(world, kid="Васильев", guardian="Васильева")
    late = final(world, "Алексеев", hours_ago=30)
    final(world, "Васильев", hours_ago=20)  # 4 hours left: about to breach
    final(world, "Борисов", hours_ago=40)  # a paper family: not the portal's rule
    delivered = clock.utcnow() - dt.timedelta(hours=1)
    obtained = delivered.replace(tzinfo=dt.UTC).astimezone(ZoneInfo("Europe/Moscow")).date()  # the school's day
    db.session.add(ExamResult(school_id=world.school_a.id, student_id=world.students["Алексеев"].id,
                              kind=ExamKind.competition, name="Олимпиада по математике", date=dt.date(2026, 11, 10),
                              result_date=obtained, recorded_at=clock.utcnow() - dt.timedelta(hours=2),
                              published_at=delivered))  # delivered in time: within 24 hours of its result date
    db.session.commit()
    items = sla.report(clock.utcnow())
    assert [(i.student_id, i.state) for i in items] == [(late.student_id, sla.BREACH),
                                                         (world.students["Васильев"].id, sla.DUE_SOON)]
    assert items[0].deadline == late.decided_at + dt.timedelta(hours=24)
    result = runner.invoke(args=["exchange", "sla"])
    assert result.exit_code == 1, result.output
    assert "Алексеев" in result.output and "Борисов" not in result.output


def test_a_result_acknowledged_after_24_hours_is_a_breach_and_in_time_is_none(world, runner):
    record(world)
    final(world, "Алексеев", hours_ago=50, published_after=26)
    assert [i.state for i in sla.report(clock.utcnow())] == [sla.LATE]
    row = db.session.scalar(select(FinalGrade))
    row.published_at = row.decided_at + dt.timedelta(hours=3)
    db.session.commit()
    assert sla.report(clock.utcnow()) == []
    result = runner.invoke(args=["exchange", "sla"])
    assert result.exit_code == 0
    assert result.output.strip() == ru("Breaches of the 24-hour rule: %(breaches)d (never acknowledged, or late in "
                                       "the last %(days)d days); about to breach: %(soon)d.",
                                       breaches=0, days=7, soon=0)


def test_a_never_acknowledged_result_stays_listed_after_the_window(world, runner):
    record(world)
    record(world, kid="Васильев", guardian="Васильева")
    old = final(world, "Алексеев", hours_ago=24 * 30)
    final(world, "Васильев", hours_ago=24 * 20, published_after=30)  # late, but out of the window
    assert [(i.id, i.state) for i in sla.report(clock.utcnow(), days=7)] == [(old.id, sla.BREACH)]
    assert runner.invoke(args=["exchange", "sla", "--days", "1"]).exit_code == 1


def test_sla_takes_a_number_of_days(world, runner):
    result = runner.invoke(args=["exchange", "sla", "--days", "0"])
    assert result.exit_code == 2 and "--days" in result.output


def test_run_once_status_and_retry_from_the_command_line(world, runner, portal):
    record(world)
    mark(world, "Алексеев")
    result = runner.invoke(args=["exchange", "run", "--once"])
    assert result.exit_code == 0, result.output
    assert statuses() == {"accepted": 2} and portal.state()["accepted"] == 2
    status = runner.invoke(args=["exchange", "status"])
    assert status.exit_code == 0
    assert ru("Queued: %(queued)d; sending: %(sending)d; accepted: %(accepted)d; failed: %(failed)d; cancelled: "
              "%(cancelled)d.", queued=0, sending=0, accepted=2, failed=0, cancelled=0) in status.output
    portal.mode("partial")
    queue_marks(world, 4)
    runner.invoke(args=["exchange", "run", "--once"])
    failed = statuses()["failed"]
    portal.mode("ok")
    again = runner.invoke(args=["exchange", "retry"])
    assert again.exit_code == 0 and ru("Messages queued again: %(count)d.", count=failed) in again.output
    assert statuses().get("failed") is None


def test_run_says_when_the_portal_is_down_and_exits_2(world, runner, portal):
    record(world)
    portal.mode("down")
    result = runner.invoke(args=["exchange", "run", "--once"])
    assert result.exit_code == 2
    assert statuses() == {"queued": 1}


@pytest.mark.parametrize("args, settings, fragment", [
    (["--batch", "0"], {}, "--batch"),
    (["--worker", "w" * 61], {}, "--worker"),
    ([], {"PORTAL_URL": "ftp://portal"}, "PORTAL_URL"),
    ([], {"PORTAL_URL": "portal.example/api"}, "PORTAL_URL"),
    ([], {"PORTAL_SECRET": ""}, "PORTAL_SECRET"),
])
def test_run_refuses_bad_options_and_settings_and_claims_nothing(world, runner, app, args, settings, fragment):
    record(world)
    app.config.update(settings)
    result = runner.invoke(args=["exchange", "run", "--once", *args])
    assert result.exit_code == 2 and fragment in result.output
    assert statuses() == {"queued": 1}


def test_sync_queues_the_diary_of_families_who_consented_before_the_exchange(world, runner):
    record(world)
    db.session.execute(OutboxMessage.__table__.delete())  # as if the consent predates the exchange
    db.session.commit()
    assert runner.invoke(args=["exchange", "sync"]).exit_code == 0
    assert [(m.kind, m.student_id) for m in outbox()] == [("snapshot", world.students["Алексеев"].id)]
    runner.invoke(args=["exchange", "sync"])
    assert len(outbox()) == 1  # once


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"),
                    reason="row locks with SKIP LOCKED: PostgreSQL only")
def test_two_workers_send_every_message_exactly_once(world, portal, database_url):
    record(world)
    student = world.students["Алексеев"]
    payload = {"id": 1, "deleted": True}
    now = clock.utcnow()
    db.session.execute(insert(OutboxMessage), [message_row("holidays", student.id, student.school_id, payload, now)
                                               for _ in range(3000)])
    db.session.commit()
    env = {**os.environ, "DATABASE_URL": database_url, "PORTAL_URL": portal.url, "PORTAL_SECRET": portal.secret,
           "EXCHANGE_BACKOFF": "0.01", "EXCHANGE_RETRY_WAIT": "0.01"}
    workers = [subprocess.Popen([sys.executable, "-m", "flask", "--app", "run", "exchange", "run", "--once",
                                 "--batch", "50", "--worker", f"w{n}"], cwd=ROOT, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in (1, 2)]
    outputs = [w.communicate(timeout=300)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    db.session.expire_all()
    assert statuses() == {"accepted": 3001}
    state = portal.state()
    assert (state["accepted"], state["redelivered"]) == (3001, 0)
    by_worker = dict(db.session.execute(select(OutboxMessage.worker, func.count())
                                        .group_by(OutboxMessage.worker)).all())
    assert set(by_worker) == {"w1", "w2"}, by_worker  # both took a share


def test_a_withdrawn_family_gets_nothing_more_even_from_the_sync(world, runner):
    record(world)
    record(world, Decision.withdrawal, on=dt.date(2026, 11, 2), number="40-ПД")
    runner.invoke(args=["exchange", "sync"])
    assert [m.kind for m in outbox() if m.status.value == "queued"] == ["withdrawal"]
