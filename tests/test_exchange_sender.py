"""The exchange job against the real portal simulator process: what leaves (consented families only,
the withdrawal last), `published_at` from the receipt, and every fault mode of the portal — nothing
lost, nothing accepted twice, failures parked with their reasons and retried on demand."""
import datetime as dt

import pytest
from sqlalchemy import insert, select, update

from app.exchange.capture import message_row
from app.exchange.outbox import retry_failed, state
from app.exchange.sender import run
from app.extensions import db
from app.models import Decision, FinalGrade, FinalValue, OutboxMessage, OutboxStatus
from app.services import clock
from app.services.audit import acting_as
from app.services.finals import set_final
from tests.consent_helpers import NOV_2, record
from tests.finals_helpers import q1
from tests.journal_helpers import actor
from tests.test_exchange_outbox import mark, outbox

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY


def statuses() -> dict[str, int]:
    db.session.expire_all()
    return {s.value: n for s, n in ((s, state().count(s)) for s in OutboxStatus) if n}


def queue_marks(world, count: int, kid: str = "Алексеев") -> None:
    """`count` valid mark messages for the student, straight into the outbox."""
    item = mark(world, kid, day=dt.date(2026, 11, 13))
    template = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "mark")
                                 .order_by(OutboxMessage.id.desc()))
    rows = [message_row("mark", template.student_id, template.school_id, template.payload, clock.utcnow(), "mark",
                        item.id, 1) for _ in range(count)]
    db.session.execute(insert(OutboxMessage), rows)
    db.session.commit()


@pytest.fixture
def consented(world):
    record(world)
    return world


def test_only_consented_families_data_leaves(consented, portal):
    world = consented
    record(world, Decision.refusal, kid="Васильев", guardian="Васильева")
    for kid in ("Алексеев", "Борисов", "Васильев"):
        mark(world, kid)
    result = run(once=True, deliver=False)
    assert (result.accepted, result.rejected, result.cancelled) == (2, 0, 0)  # the snapshot and the mark
    assert portal.state()["by_student"] == {str(world.students["Алексеев"].id): 2}
    assert statuses() == {"accepted": 2}
    sent = {m.key: m.accepted_at for m in outbox()}
    assert all(sent.values())


def test_consent_is_asked_again_when_sending(consented, portal):
    world = consented
    kid = world.students["Борисов"]  # undecided: a message slipped into the outbox by hand
    db.session.execute(insert(OutboxMessage), [message_row("holidays", kid.id, kid.school_id, {
        "id": 1, "deleted": True}, clock.utcnow())])
    db.session.commit()
    result = run(once=True, deliver=False)
    assert result.cancelled == 1
    assert str(kid.id) not in portal.state()["by_student"]
    cancelled = [m for m in outbox() if m.student_id == kid.id]
    assert cancelled[0].status == OutboxStatus.cancelled and "соглас" in cancelled[0].failure


def test_the_withdrawal_is_the_last_message_the_portal_gets(consented, portal):
    world = consented
    mark(world, "Алексеев")
    run(once=True, deliver=False)
    record(world, Decision.withdrawal, on=NOV_2, number="40-ПД")
    mark(world, "Алексеев", 2, day=dt.date(2026, 11, 17))
    run(once=True, deliver=False)
    kinds = [m["kind"] for m in portal.messages(world.students["Алексеев"].id)]
    assert kinds == ["snapshot", "mark", "withdrawal"]


@pytest.mark.usefixtures("finals_without_marks")
def test_published_at_of_a_final_comes_from_the_receipt(consented, portal):
    world = consented
    kid = world.students["Алексеев"]
    with acting_as("teacher"):
        set_final(actor("teacher"), kid.id, world.subjects["math"].id, q1(world).id, FinalValue.five.value)
        db.session.commit()
    run(once=True, deliver=False)
    (received,) = [m for m in portal.messages(kid.id) if m["kind"] == "final_grade"]
    final = db.session.scalar(select(FinalGrade))
    db.session.refresh(final)
    acknowledged = [m for m in outbox("final_grade")][0].accepted_at
    assert final.published_at == acknowledged is not None
    assert received["payload"]["value"] == "5"


@pytest.mark.parametrize("mode", ["down", "error500"])
def test_a_portal_down_loses_nothing(consented, portal, mode):
    queue_marks(consented, 30)
    portal.mode(mode)
    result = run(once=True, deliver=False, batch=10)
    assert result.accepted == 0 and result.portal_down
    waiting = outbox()
    assert {m.status for m in waiting} == {OutboxStatus.queued}
    assert all(m.failure and m.attempts == 1 for m in waiting[:10])  # the first batch, tried and waiting
    portal.mode("ok")
    _drain()
    assert statuses() == {"accepted": 32}
    assert (portal.state()["accepted"], portal.state()["redelivered"]) == (32, 0)


def test_a_garbled_reply_is_sent_again_and_accepted_once(consented, portal, app):
    app.config["EXCHANGE_TRIES"] = 1
    queue_marks(consented, 20)
    portal.mode("garbage")
    assert run(once=True, deliver=False).accepted == 0
    assert portal.state()["accepted"] == 22  # the portal took them; its answer was lost
    portal.mode("ok")
    _drain()
    after = portal.state()
    assert statuses() == {"accepted": 22}
    assert (after["accepted"], after["redelivered"]) == (22, 22)  # sent again, never accepted twice


def test_duplicate_receipts_count_once(consented, portal):
    queue_marks(consented, 10)
    portal.mode("duplicate")
    assert run(once=True, deliver=False).accepted == 12
    assert statuses() == {"accepted": 12}


def test_partial_acceptance_parks_the_rejected_with_the_portals_reason(consented, portal):
    queue_marks(consented, 10)
    portal.mode("partial")
    result = run(once=True, deliver=False)
    assert (result.accepted, result.rejected) == (6, 6)
    failed = [m for m in outbox() if m.status == OutboxStatus.failed]
    assert len(failed) == 6 and all(m.failure.startswith("отклонено порталом: ") for m in failed)
    portal.mode("ok")
    assert retry_failed() == 6
    db.session.commit()
    assert run(once=True, deliver=False).accepted == 6
    assert statuses() == {"accepted": 12} and portal.state()["accepted"] == 12


def test_unacknowledged_messages_are_tried_again(consented, portal, app):
    queue_marks(consented, 10)
    portal.mode("silent")
    app.config["EXCHANGE_BACKOFF"] = 60
    first = run(once=True, deliver=False, batch=12)
    assert first.accepted == 6 and first.unacknowledged == 6
    waiting = [m for m in outbox() if m.status == OutboxStatus.queued]
    assert len(waiting) == 6 and all(m.failure == "портал не подтвердил получение" for m in waiting)
    assert all(m.next_attempt_at > clock.utcnow() + dt.timedelta(seconds=100) for m in waiting)  # 60 s × 2¹
    db.session.execute(update(OutboxMessage).values(next_attempt_at=clock.utcnow()))  # the pause is over
    db.session.commit()
    portal.mode("ok")
    _drain()
    assert statuses() == {"accepted": 12} and portal.state()["redelivered"] == 0


def test_a_slow_portal_times_out_and_the_batch_waits(consented, portal, app):
    queue_marks(consented, 5)
    portal.mode("slow")
    app.config["PORTAL_TIMEOUT"] = 0.3
    result = run(once=True, deliver=False)
    assert result.accepted == 0 and "недоступен" in result.portal_down
    assert statuses() == {"queued": 7}


def test_out_of_attempts_a_message_is_parked_failed_until_retried(consented, portal, app):
    app.config["EXCHANGE_MAX_ATTEMPTS"] = 2
    portal.mode("down")
    _drain(rounds=5)
    failed = outbox()
    assert {m.status for m in failed} == {OutboxStatus.failed}
    assert all("попыток: 2" in m.failure and "недоступен" in m.failure for m in failed)
    portal.mode("ok")
    assert retry_failed() == 1
    db.session.commit()
    assert run(once=True, deliver=False).accepted == 1


def test_a_wrong_secret_is_reported_and_nothing_is_accepted(consented, portal, app):
    app.config["PORTAL_SECRET"] = "not-the-portal-secret"
    result = run(once=True, deliver=False)
    assert "401" in result.portal_down and portal.state()["accepted"] == 0
    assert "401" in outbox()[0].failure


def _drain(rounds: int = 20) -> None:
    """Run until nothing waits (the pauses between attempts are milliseconds in the tests)."""
    import time

    for _ in range(rounds):
        run(once=True, deliver=False)
        if not statuses().get("queued"):
            return
        time.sleep(0.05)


def test_a_worker_whose_lease_ran_out_does_not_overwrite_the_next_ones_outcome(consented, portal, app):
    from app.exchange.sender import claim, send_batch
    from app.exchange.transport import portal_from_config

    stalled = claim("stalled", clock.utcnow(), 10)  # took the snapshot, then hung past its lease
    db.session.execute(update(OutboxMessage).values(claimed_until=clock.utcnow() - dt.timedelta(seconds=1)))
    db.session.commit()
    assert run(once=True, deliver=False, worker="next").accepted == 1
    portal.mode("down")
    batches = portal.state()["batches"]
    late = send_batch(portal_from_config(app.config), stalled, clock.utcnow(), "stalled")
    assert (late.accepted, late.unacknowledged, late.portal_down) == (0, 0, "")
    assert portal.state()["batches"] == batches  # asked before its POST: no longer its message, nothing sent
    (message,) = outbox()
    assert (message.status, message.worker) == (OutboxStatus.accepted, "next")


def test_a_portal_notification_travels_through_the_outbox_in_utc(consented, portal):
    from app.models import Channel, DeliveryPreference, Notification, NotificationKind

    kid = consented.students["Алексеев"]
    db.session.add(DeliveryPreference(school_id=kid.school_id, student_id=kid.id, channel=Channel.portal))
    db.session.add(Notification(school_id=kid.school_id, student_id=kid.id, kind=NotificationKind.forecast,
                                title="Прогноз", body="Математика: 4", key="forecast:test"))
    db.session.commit()
    before = clock.utcnow()
    result = run(once=True)
    assert result.accepted == 2 and result.rejected == 0  # the snapshot and the forecast, valid for the portal
    (forecast,) = [m for m in outbox() if m.kind == "forecast"]
    assert abs(forecast.created_at - before) < dt.timedelta(minutes=1)
    assert [m["payload"]["text"] for m in portal.messages(kid.id) if m["kind"] == "forecast"] == ["Математика: 4"]


def test_outcomes_are_grouped_as_each_row_alone_would_be(app):
    """The outcome is worked out once per verdict (a receipt's, or without one: refused or not, and the attempts
    made): each row lands in the group of what _outcome gives it alone."""
    from types import SimpleNamespace

    from app.exchange.sender import _grouped, _outcome
    from app.exchange.transport import Receipt

    app.config["EXCHANGE_MAX_ATTEMPTS"] = 3
    now, noon = clock.utcnow(), dt.datetime(2026, 11, 20, 12)
    rows = [SimpleNamespace(id=i, key=f"k{i}", attempts=1 + i % 3) for i in range(12)]
    receipts = {"k0": Receipt("k0", True, "", noon), "k1": Receipt("k1", True, "", None),
                "k2": Receipt("k2", True, "", noon), "k3": Receipt("k3", False, "нет класса", None),
                "k4": Receipt("k4", False, "нет ученика", None), "k5": Receipt("k5", True, "", noon)}
    refused = {"k6", "k7", "k0"}  # a refused key with a receipt follows its receipt
    groups = _grouped(rows, receipts, refused, "", now)
    assert sorted(r.id for members in groups.values() for r in members) == list(range(12))
    for (counted, change), members in groups.items():
        assert all(_outcome(r, receipts.get(r.key), refused, "", now) == (counted, dict(change)) for r in members)
    assert {counted for counted, _ in groups} == {"accepted", "rejected", "cancelled", "later", "parked"}
    assert len(groups) == 8  # accepted at noon / now, two reasons, cancelled, later after 1 or 2 attempts, parked
