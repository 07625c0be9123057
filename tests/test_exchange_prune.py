"""`flask exchange prune --before YYYY-MM-DD` (issue 19): accepted messages older than the day move to the
archive whole; everything else stays; the counts, the last acknowledgement, the initial sync and the 24-hour rule
read the same after it; a bad day changes nothing."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from app.exchange import sla
from app.exchange.outbox import initial_sync, state
from app.extensions import db
from app.models import OutboxArchive, OutboxMessage, OutboxStatus
from app.services import clock
from tests.consent_helpers import record, ru
from tests.test_exchange_jobs import final
from tests.test_exchange_page import add_message

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY
DAY = dt.timedelta(days=1)
MORNING = dt.datetime(2026, 11, 20, 6)  # the frozen school day, in UTC


@pytest.fixture
def history(world):
    """Алексеев's family consented; his snapshot accepted 40 days ago, marks accepted 30 and 2 days ago, and
    old messages in every other state."""
    record(world)
    db.session.execute(OutboxMessage.__table__.delete())
    long_ago = 40 * DAY
    snapshot = add_message(world, OutboxStatus.accepted, age=long_ago, accepted_at=MORNING - long_ago)
    snapshot.kind = "snapshot"
    add_message(world, OutboxStatus.accepted, age=30 * DAY, accepted_at=MORNING - 30 * DAY, attempts=2)
    add_message(world, OutboxStatus.accepted, age=2 * DAY, accepted_at=MORNING - 2 * DAY)
    for status in (OutboxStatus.queued, OutboxStatus.failed, OutboxStatus.cancelled):
        add_message(world, status, age=long_ago)
    db.session.commit()
    return world


def rows(model) -> list[tuple]:
    db.session.expire_all()
    return db.session.execute(select(model.id, model.key, model.kind, model.payload, model.accepted_at)
                              .order_by(model.id)).all()


def archived() -> int:
    return db.session.scalar(select(func.count()).select_from(OutboxArchive))


NOT_A_DAY = "the date must be written YYYY-MM-DD, got «%(value)s»"


@pytest.mark.parametrize("args, message", [
    (["--before", "2026-13-01"], (NOT_A_DAY, {"value": "2026-13-01"})),
    (["--before", "вчера"], (NOT_A_DAY, {"value": "вчера"})),
    (["--before", "2026-11-21"], ("the day must not be later than today (%(today)s)", {"today": "20.11.2026"})),
    ([], "--before"),
])
@pytest.mark.usefixtures("history")
def test_a_bad_day_is_refused_and_nothing_moves(runner, args, message):
    message = message if isinstance(message, str) else ru("Error: %(message)s", message=ru(message[0], **message[1]))
    before = rows(OutboxMessage)
    result = runner.invoke(args=["exchange", "prune", *args])
    assert result.exit_code == 2 and message in result.output, result.output
    assert rows(OutboxMessage) == before and archived() == 0


def test_accepted_messages_before_the_day_move_whole_and_the_rest_stays(history, runner):
    world, kid = history, history.students["Алексеев"]
    live = rows(OutboxMessage)
    before_state, last = state(), state().last_accepted
    result = runner.invoke(args=["exchange", "prune", "--before", "2026-11-01"])
    assert result.exit_code == 0, result.output
    assert ru("Moved to the archive: %(count)d messages accepted by the portal before %(day)s.",
              count=2, day="01.11.2026") in result.output
    assert rows(OutboxArchive) == live[:2]  # the snapshot and the old mark: same ids, keys, payloads, times
    moved = db.session.scalar(select(OutboxArchive).where(OutboxArchive.kind == "mark"))
    assert (moved.student_id, moved.school_id, moved.attempts) == (kid.id, kid.school_id, 2)
    assert rows(OutboxMessage) == live[2:]  # the recent acceptance and every waiting, failed, cancelled one
    after = state()
    assert after.archived == 2 and after.count(OutboxStatus.accepted) == before_state.count(OutboxStatus.accepted) - 2
    assert after.last_accepted == last
    status = runner.invoke(args=["exchange", "status"])
    assert ru("In the archive (accepted, moved by «exchange prune»): %(count)d.", count=2) in status.output
    assert initial_sync() == 0  # the archived snapshot was delivered: no second full diary
    assert world.students["Алексеев"].id not in {m.student_id for m in db.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "snapshot"))}


def test_pruning_everything_accepted_keeps_the_last_acknowledgement_and_the_24_hour_rule(history, runner,
                                                                                        login_as):
    late = final(history, "Алексеев", hours_ago=50, published_after=26)
    report = sla.report(clock.utcnow())
    assert [i.id for i in report] == [late.id]
    last = state().last_accepted
    assert runner.invoke(args=["exchange", "prune", "--before", "2026-11-20"]).exit_code == 0
    assert archived() == 3 and state().count(OutboxStatus.accepted) == 0
    assert state().last_accepted == last
    assert sla.report(clock.utcnow()) == report  # it reads the results' own published_at
    page = login_as("director").get("/exchange/").get_data(as_text=True)
    assert 'class="exchange-archived">3 (' in page
    again = runner.invoke(args=["exchange", "prune", "--before", "2026-11-20"]).output
    assert ru("Moved to the archive: %(count)d messages accepted by the portal before %(day)s.",
              count=0, day="20.11.2026") in again and archived() == 3
