"""Consent and channel never disagree (issue 15, p.6): one rule (`consent.channels`) gives each family its
effective channel, and the paper recipients (service, page, «all paper families» extracts), the notifications
(delivered by e-mail to the demo's real mail sink), the exchange (outbox capture, sender, 24-hour report) and
the registrar's right to print all follow it — no family falls between channels."""
import datetime as dt
import email
import subprocess
import sys
from email import policy
from pathlib import Path

import pytest
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import insert, select

from app.exchange import sla
from app.exchange.capture import message_row
from app.exchange.delivery import deliver
from app.exchange.outbox import initial_sync
from app.exchange.sender import run
from app.extensions import db
from app.models import (
    Channel,
    ContactKind,
    Decision,
    DeliveryPreference,
    FinalGrade,
    FinalStatus,
    FinalValue,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutboxMessage,
    OutboxStatus,
)
from app.services import clock
from app.services.consent import channels, paper_recipients
from app.services.errors import RuleViolation
from app.services.extracts import make_order, printer_of
from tests.consent_helpers import NOV_2, add_contact, add_guardian, record
from tests.factories import student
from tests.finals_helpers import q1
from tests.test_exchange_delivery import free_port, prefer
from tests.test_exchange_outbox import mark, outbox

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

ROOT = Path(__file__).resolve().parent.parent
# the combinations: (student, what the family decided and chose) → the effective channel
EXPECTED = {
    "Борисов": Channel.paper,  # no decision
    "Алексеев": Channel.portal,  # consent, no preference
    "Васильев": Channel.email,  # consent, e-mail
    "Дмитриев": Channel.paper,  # consent, paper chosen (before the consent: the reported case)
    "Егоров": Channel.paper,  # refusal, portal preference left from before
    "Жуков": Channel.paper,  # consent with e-mail, then withdrawn
}
PAPER = ["Борисов", "Дмитриев", "Егоров", "Жуков"]  # in class-list order (all in 5А)
ELECTRONIC = {"Алексеев", "Васильев"}


@pytest.fixture
def families(world):
    for kid, parent in (("Дмитриев", "Дмитриева"), ("Егоров", "Егорова"), ("Жуков", "Жукова")):
        world.students[kid] = student(world.classes["5А"], kid)
        db.session.commit()
        add_guardian(world, kid, parent)
    prefer(world, Channel.paper, kid="Дмитриев")
    prefer(world, Channel.portal, add_contact(world, "Егорова", ContactKind.portal, "ЕПГУ-1000"), kid="Егоров")
    record(world)
    record(world, kid="Васильев", guardian="Васильева")
    prefer(world, Channel.email, add_contact(world, "Васильева", ContactKind.email, "vasilieva@example.ru"),
           kid="Васильев")
    record(world, kid="Дмитриев", guardian="Дмитриева")
    record(world, Decision.refusal, kid="Егоров", guardian="Егорова")
    record(world, kid="Жуков", guardian="Жукова")
    prefer(world, Channel.email, add_contact(world, "Жукова", ContactKind.email, "zhukova@example.ru"), kid="Жуков")
    record(world, Decision.withdrawal, kid="Жуков", guardian="Жукова", on=NOV_2, number="40-ПД")
    return world


def ids(world, names) -> dict[int, str]:
    return {world.students[n].id: n for n in names}


def test_one_rule_gives_each_family_its_channel(families):
    found = channels(list(ids(families, EXPECTED)))
    assert {families.students[n].id: c for n, c in EXPECTED.items()} == found


def test_the_paper_list_and_its_page_hold_every_paper_family(families, login_as):
    assert [s.surname for s in paper_recipients(families.school_a.id)] == PAPER
    page = login_as("registrar").get("/consent/paper").get_data(as_text=True)
    table = page.split('class="table table-bordered table-condensed paper-recipients"')[1]
    assert all(families.students[n].full_name in table for n in PAPER)
    assert not any(families.students[n].full_name in table for n in ELECTRONIC)


def test_the_extracts_print_for_the_paper_families_and_only_them(families):
    registrar = printer_of(db.session.scalar(select(User).where(User.username == "registrar")))
    period = q1(families).id
    order = make_order(registrar, period_id=period, all_paper=True)
    assert [s.surname for s, _ in order.items] == PAPER
    listed = make_order(registrar, period_id=period, class_id=families.classes["5А"].id, paper_only=True)
    assert [s.surname for s, _ in listed.items] == PAPER
    assert make_order(registrar, period_id=period, student_id=families.students["Дмитриев"].id).items
    for kid in ELECTRONIC:  # the registrar prints for paper families only
        with pytest.raises(RuleViolation):
            make_order(registrar, period_id=period, student_id=families.students[kid].id)


@pytest.fixture
def mailsink(app, tmp_path):
    """The demo's mail sink (`python -m app.exchange.mailsink`) as a real process; SMTP_URL points at it."""
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "app.exchange.mailsink", "--port", str(port),
                                "--dir", str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().startswith(f"listening on smtp://127.0.0.1:{port}")
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{port}"
    yield tmp_path
    process.terminate()
    process.wait(10)
    process.stdout.close()


def test_each_notification_goes_by_the_familys_channel(families, mailsink):
    for kid in EXPECTED:
        db.session.add(Notification(school_id=families.school_a.id, student_id=families.students[kid].id,
                                    kind=NotificationKind.forecast, title="Прогноз", body=f"Прогноз: {kid}",
                                    key=f"test:{kid}"))
    db.session.commit()
    deliver()
    db.session.expire_all()
    settled = {n.student_id: (n.status, n.channel) for n in db.session.scalars(select(Notification))}
    for kid, channel in EXPECTED.items():
        want = (NotificationStatus.paper, "") if channel == Channel.paper else (NotificationStatus.sent, channel.value)
        assert settled[families.students[kid].id] == want, kid
    notices = select(OutboxMessage.student_id).where(OutboxMessage.entity == "notification")
    assert set(db.session.scalars(notices)) == {families.students["Алексеев"].id}
    (log,) = (mailsink / "mail.log").read_text(encoding="utf-8").splitlines()
    assert "vasilieva@example.ru" in log and "Прогноз" in log
    (mail,) = mailsink.glob("*.eml")
    message = email.message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert message["To"] == "vasilieva@example.ru" and "Прогноз: Васильев" in message.get_content()


def test_the_exchange_sends_and_reports_for_the_electronic_families_only(families, portal):
    for kid in EXPECTED:
        mark(families, kid)
    marks = {m.student_id for m in outbox("mark")}
    assert marks == set(ids(families, ELECTRONIC))
    slipped = families.students["Дмитриев"]  # a message slipped in by hand: the sender asks the rule again
    db.session.execute(insert(OutboxMessage), [message_row("holidays", slipped.id, slipped.school_id,
                                                           {"id": 1, "deleted": True}, clock.utcnow())])
    db.session.commit()
    run(once=True, deliver=False)
    held = {n: [m["kind"] for m in portal.messages(families.students[n].id)] for n in EXPECTED}
    assert held == {"Борисов": [], "Алексеев": ["snapshot", "mark"], "Васильев": ["snapshot", "mark"],
                    "Дмитриев": [], "Егоров": [], "Жуков": ["withdrawal"]}  # the withdrawal always goes
    db.session.expire_all()
    assert {m.status for m in outbox(student=slipped)} == {OutboxStatus.cancelled}
    decided = clock.utcnow() - dt.timedelta(hours=30)
    for kid in EXPECTED:
        db.session.add(FinalGrade(school_id=families.school_a.id, student_id=families.students[kid].id,
                                  subject_id=families.subjects["math"].id, period_id=q1(families).id,
                                  value=FinalValue.four, status=FinalStatus.final, result_date=decided.date(),
                                  decided_by="teacher", decided_at=decided))
    db.session.commit()
    assert {i.student for i in sla.report(clock.utcnow())} == {families.students[n].full_name for n in ELECTRONIC}
    db.session.execute(OutboxMessage.__table__.delete())  # as if the exchange were switched on now
    db.session.commit()
    assert initial_sync() == 2
    assert {m.student_id for m in outbox("snapshot")} == set(ids(families, ELECTRONIC))


def test_choosing_a_channel_moves_the_family_between_paper_and_the_portal(families, api_token, app):
    kid = families.students["Дмитриев"]
    assert [m.kind for m in outbox(student=kid)] == []  # consented with paper chosen: nothing for the portal
    pref = db.session.scalar(select(DeliveryPreference).where(DeliveryPreference.student_id == kid.id))
    headers = {"Authorization": f"Bearer {api_token('registrar')}"}
    client = app.test_client()
    contact = add_contact(families, "Дмитриева", ContactKind.portal, "ЕПГУ-2000")
    response = client.put(f"/api/v1/deliverypreference/{pref.id}", headers=headers,
                          json={"channel": "portal", "contact": contact.id})
    assert response.status_code == 200, response.json
    db.session.expire_all()
    (snapshot,) = outbox(student=kid)
    assert (snapshot.kind, snapshot.status, snapshot.entity) == ("snapshot", OutboxStatus.queued, "delivery_preference")
    assert kid not in paper_recipients(families.school_a.id)
    response = client.put(f"/api/v1/deliverypreference/{pref.id}", headers=headers,
                          json={"channel": "paper", "contact": None})
    assert response.status_code == 200, response.json
    db.session.expire_all()
    (snapshot,) = outbox(student=kid)
    assert snapshot.status == OutboxStatus.cancelled and "бумажн" in snapshot.failure
    assert kid in paper_recipients(families.school_a.id)


def test_a_withdrawal_flushed_with_a_paper_choice_still_tells_the_portal(families):
    kid = families.students["Алексеев"]
    db.session.add(DeliveryPreference(school_id=kid.school_id, student_id=kid.id, channel=Channel.paper))
    record(families, Decision.withdrawal, on=NOV_2, number="40-ПД")  # one flush: the preference and the decision
    db.session.expire_all()
    assert [(m.kind, m.status) for m in outbox(student=kid)] == [
        ("snapshot", OutboxStatus.cancelled), ("withdrawal", OutboxStatus.queued)]


def test_the_preference_form_moves_the_family_and_a_refused_form_moves_nothing(families, login_as):
    kid = families.students["Дмитриев"]
    pref = db.session.scalar(select(DeliveryPreference).where(DeliveryPreference.student_id == kid.id))
    client = login_as("registrar")
    refused = client.post(f"/deliverypreferenceview/edit/{pref.id}", follow_redirects=True,
                          data={"student": str(kid.id), "channel": "email", "contact": ""})
    assert refused.status_code == 200 and "alert-danger" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert outbox(student=kid) == [] and channels([kid.id]) == {kid.id: Channel.paper}
    contact = add_contact(families, "Дмитриева", ContactKind.email, "dmitrieva@example.ru")
    saved = client.post(f"/deliverypreferenceview/edit/{pref.id}",
                        data={"student": str(kid.id), "channel": "email", "contact": str(contact.id)})
    assert saved.status_code == 302
    db.session.expire_all()
    assert [(m.kind, m.status) for m in outbox(student=kid)] == [("snapshot", OutboxStatus.queued)]
    assert channels([kid.id]) == {kid.id: Channel.email} and kid not in paper_recipients(families.school_a.id)
