"""The consent gate at the moment of sending (issue 15, p.4), against the real portal simulator: a withdrawal
recorded while the portal is down — during the sender's retries, or between a worker's claim and its POST —
keeps the mark from the portal, is never overwritten by the worker, and the withdrawal reaches the portal."""
import datetime as dt

import pytest

from app.exchange.sender import claim, run, send_batch
from app.exchange.transport import HttpPortal, PortalUnavailable
from app.extensions import db
from app.models import Decision, OutboxStatus
from app.services import clock
from tests.consent_helpers import NOV_2, record
from tests.test_exchange_outbox import mark, outbox

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

WITHDRAWN = "согласие отозвано: не отправлять"


@pytest.fixture
def synced(world, portal):
    """Алексеев's family consented and the portal has his diary (the snapshot)."""
    record(world)
    assert run(once=True, deliver=False).accepted == 1
    return world


class WithdrawnWhileDown(HttpPortal):
    """The real transport; when its first POST finds the portal down, the family withdraws and the portal comes
    back before the sender's next try."""

    concurrent = False  # it writes the withdrawal through the test's session: called on the job's thread

    def __init__(self, simulator, world):
        super().__init__(simulator.url, simulator.secret)
        self.simulator, self.world, self.posts = simulator, world, []

    def send(self, messages):
        self.posts.append([m["kind"] for m in messages])
        try:
            return super().send(messages)
        except PortalUnavailable:
            if len(self.posts) == 1:
                record(self.world, Decision.withdrawal, on=NOV_2, number="40-ПД")
                self.simulator.mode("ok")
            raise


def test_a_withdrawal_during_the_retries_keeps_the_mark_from_the_portal(synced, portal, app):
    world, kid = synced, synced.students["Алексеев"]
    app.config["EXCHANGE_TRIES"] = 3
    portal.mode("down")
    mark(world, "Алексеев")
    with WithdrawnWhileDown(portal, world) as transport:
        result = run(once=True, deliver=False, portal=transport)
    assert transport.posts == [["mark"], ["withdrawal"]]  # the retry asked the gate: no second POST of the mark
    assert [m["kind"] for m in portal.messages(kid.id)] == ["snapshot", "withdrawal"]
    db.session.expire_all()
    (held,) = outbox("mark")
    assert (held.status, held.failure, held.claimed_until) == (OutboxStatus.cancelled, WITHDRAWN, None)
    assert outbox("withdrawal")[0].status == OutboxStatus.accepted
    assert (result.accepted, result.cancelled) == (1, 0)


def test_a_withdrawal_between_the_claim_and_the_post_is_not_overwritten(synced, portal):
    world, kid = synced, synced.students["Алексеев"]
    mark(world, "Алексеев")
    rows = claim("worker-a", clock.utcnow(), 10)
    assert [r.kind for r in rows] == ["mark"]
    record(world, Decision.withdrawal, on=NOV_2, number="40-ПД")
    db.session.expire_all()
    assert outbox("mark")[0].status == OutboxStatus.cancelled  # the claimed mark is cancelled at once
    # worker A still holds it (maybe mid-POST): the withdrawal waits behind it
    assert claim("worker-b", clock.utcnow(), 10) == []
    send_batch(HttpPortal(portal.url, portal.secret), rows, clock.utcnow(), "worker-a")
    db.session.expire_all()
    (held,) = outbox("mark")
    assert (held.status, held.failure, held.claimed_until) == (OutboxStatus.cancelled, WITHDRAWN, None)
    assert [r.kind for r in claim("worker-b", clock.utcnow(), 10)] == ["withdrawal"]
    assert [m["kind"] for m in portal.messages(kid.id)] == ["snapshot"]


def test_a_dead_workers_cancelled_message_holds_the_withdrawal_only_for_its_lease(synced, portal, app):
    world = synced
    mark(world, "Алексеев")
    claim("dead-worker", clock.utcnow(), 10)
    record(world, Decision.withdrawal, on=NOV_2, number="40-ПД")
    assert claim("worker-b", clock.utcnow(), 10) == []
    later = clock.utcnow() + dt.timedelta(seconds=app.config["EXCHANGE_LEASE"] + 1)
    assert [r.kind for r in claim("worker-b", later, 10)] == ["withdrawal"]
