"""The exchange page (/exchange/), the outbox list and the home page's 24-hour-rule line: who sees
what, «retry failed», and a crafted late final counted on both pages."""
import datetime as dt
import re
import uuid

import pytest
from sqlalchemy import delete, func, select

from app.extensions import db
from app.models import FinalGrade, FinalStatus, FinalValue, OutboxMessage, OutboxStatus, Subject
from app.services import clock
from tests.consent_helpers import record, ru
from tests.finals_helpers import q1

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY


def add_message(world, status: OutboxStatus, kid: str = "Алексеев", age: dt.timedelta = dt.timedelta(hours=1),
                **fields) -> OutboxMessage:
    """An outbox row as the sender leaves it, created `age` ago."""
    student, created = world.students[kid], clock.utcnow() - age
    message = OutboxMessage(key=uuid.uuid4().hex, kind="mark", student_id=student.id, school_id=student.school_id,
                            payload={"value": "5"}, status=status, created_at=created, next_attempt_at=created,
                            **fields)
    db.session.add(message)
    return message


@pytest.fixture
def outbox(world):
    """School A: 2 queued (the oldest 2 h 5 min old), 1 sending, 3 accepted, 2 failed, 1 cancelled;
    school B: 1 failed that school A's pages never show."""
    db.session.execute(delete(OutboxMessage))
    add_message(world, OutboxStatus.queued, age=dt.timedelta(hours=2, minutes=5))
    add_message(world, OutboxStatus.queued)
    add_message(world, OutboxStatus.sending, worker="host:1")
    for hours in (3, 2, 1):
        add_message(world, OutboxStatus.accepted, accepted_at=clock.utcnow() - dt.timedelta(hours=hours))
    add_message(world, OutboxStatus.failed, attempts=8, failure="HTTP 500 from the portal")
    add_message(world, OutboxStatus.failed, kid="Васильев", attempts=8, failure="rejected: bad schema")
    add_message(world, OutboxStatus.cancelled)
    add_message(world, OutboxStatus.failed, kid="Гаврилов", attempts=8, failure="school B trouble")
    db.session.commit()


def counts(page: str) -> dict[str, int]:
    """The count cells of the page, by status."""
    return {s: int(n) for s, n in re.findall(r'class="exchange-count-(\w+)">(\d+)<', page)}


def statuses(school_id: int) -> dict[OutboxStatus, int]:
    db.session.expire_all()
    return dict(db.session.execute(select(OutboxMessage.status, func.count()).where(
        OutboxMessage.school_id == school_id).group_by(OutboxMessage.status)).all())


@pytest.mark.usefixtures("outbox")
def test_administration_sees_the_counts_of_its_school(world, login_as):
    response = login_as("director").get("/exchange/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert counts(page) == {"queued": 2, "sending": 1, "accepted": 3, "failed": 2, "cancelled": 1}
    assert ru("%(hours)d h %(minutes)d min", hours=2, minutes=5) in page
    assert "HTTP 500 from the portal" in page and "rejected: bad schema" in page
    assert "school B trouble" not in page
    assert 'class="exchange-retry"' in page and "UTC" not in page  # the school's clock
    assert ru("Breaches of the 24-hour rule: %(count)d", count=0) in page
    listing = login_as("director").get("/outboxmessageview/list/").get_data(as_text=True)
    assert "HTTP 500 from the portal" in listing and "school B trouble" not in listing
    assert login_as("director").get("/outboxmessageview/add").status_code in (403, 404)


@pytest.mark.usefixtures("outbox")
def test_the_outbox_record_shows_the_payload(world, login_as):
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.failure == "HTTP 500 from the portal"))
    page = login_as("auditor").get(f"/outboxmessageview/show/{message.id}").get_data(as_text=True)
    assert message.key in page and "&#34;value&#34;: &#34;5&#34;" in page


@pytest.mark.usefixtures("outbox")
def test_retry_puts_the_failed_messages_of_the_school_back_in_the_queue(world, login_as):
    client = login_as("director")
    response = client.post("/exchange/retry", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert ru("Messages queued again: %(count)d.", count=2) in page
    assert counts(page)["failed"] == 0 and counts(page)["queued"] == 4
    assert OutboxStatus.failed not in statuses(world.school_a.id)
    retried = db.session.scalars(select(OutboxMessage).where(OutboxMessage.attempts == 0,
                                                             OutboxMessage.status == OutboxStatus.queued)).all()
    assert len(retried) == 4 and all(m.failure == "" for m in retried)
    assert statuses(world.school_b.id) == {OutboxStatus.failed: 1}


@pytest.mark.usefixtures("outbox")
def test_the_retry_button_carries_a_working_csrf_token(app, world, login_as):
    """CSRFProtect is on outside tests: a post without the page's token is refused and changes nothing."""
    client = login_as("director")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/exchange/retry").status_code == 400
    assert statuses(world.school_a.id)[OutboxStatus.failed] == 2
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/exchange/").get_data(as_text=True))[1]
    assert client.post("/exchange/retry", data={"csrf_token": token}).status_code == 302
    assert OutboxStatus.failed not in statuses(world.school_a.id)


@pytest.mark.usefixtures("outbox")
def test_auditor_reads_but_cannot_retry(world, login_as):
    client = login_as("auditor")
    page = client.get("/exchange/").get_data(as_text=True)
    assert counts(page)["failed"] == 2 and 'class="exchange-retry"' not in page
    before = statuses(world.school_a.id)
    assert client.post("/exchange/retry").status_code == 403
    assert statuses(world.school_a.id) == before
    assert client.get("/outboxmessageview/list/").status_code == 200


@pytest.mark.usefixtures("outbox")
@pytest.mark.parametrize("username", ["teacher", "classteacher", "registrar"])
def test_teachers_and_the_registrar_are_refused(world, login_as, username):
    client = login_as(username)
    for url in ("/exchange/", "/outboxmessageview/list/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/exchange/retry").status_code == 403
    assert statuses(world.school_a.id)[OutboxStatus.failed] == 2
    assert "home-exchange" not in client.get("/").get_data(as_text=True)


def test_anonymous_is_sent_to_the_login(client):
    for response in (client.get("/exchange/"), client.post("/exchange/retry")):
        assert response.status_code == 302 and "/login/" in response.headers["Location"]


def _final(world, kid: str, subject, period, decided_ago: dt.timedelta, published_after: dt.timedelta | None = None):
    decided = clock.utcnow() - decided_ago
    db.session.add(FinalGrade(school=world.school_a, student=world.students[kid], subject=subject, period=period,
                              value=FinalValue.five, status=FinalStatus.final, decided_by="teacher",
                              decided_at=decided, published_at=decided + published_after if published_after else None))
    db.session.commit()


def test_a_late_final_is_a_breach_on_the_page_and_the_home_page(world, login_as):
    """Алексеев (consented) has a final decided 30 hours ago that the portal never acknowledged: one
    breach. Not counted: the same for Борисов (no consent: paper) and a final acknowledged in time."""
    record(world)
    math, period = world.subjects["math"], q1(world)
    _final(world, "Алексеев", math, period, dt.timedelta(hours=30))
    _final(world, "Борисов", math, period, dt.timedelta(hours=30))
    history = Subject(school=world.school_a, name="История", short_name="Ист")
    db.session.add(history)
    _final(world, "Алексеев", history, period, dt.timedelta(hours=40), published_after=dt.timedelta(hours=2))
    client = login_as("director")
    page = client.get("/exchange/").get_data(as_text=True)
    assert ru("Breaches of the 24-hour rule: %(count)d", count=1) in page
    sla_table = page.split('class="table table-condensed table-hover exchange-sla"')[1].split("</table>")[0]
    assert world.students["Алексеев"].full_name in sla_table and world.students["Борисов"].full_name not in sla_table
    assert ru("not delivered, the deadline has passed") in sla_table and "История" not in sla_table
    home = client.get("/").get_data(as_text=True)
    line = home.split('home-exchange"')[1].split("</section>")[0]
    assert ru("Breaches of the 24-hour rule: %(count)d", count=1) in line and 'href="/exchange/"' in line
    auditor_home = login_as("auditor").get("/").get_data(as_text=True)
    assert ru("Breaches of the 24-hour rule: %(count)d", count=1) in auditor_home
    assert "home-exchange" not in login_as("teacher").get("/").get_data(as_text=True)
