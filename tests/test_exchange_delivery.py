"""Delivery by the agreed channel (SPEC §1 p.7, §5): e-mail through a real SMTP server on loopback (aiosmtpd), portal
through the outbox, paper otherwise; only contacts with a recorded provenance, only with current consent."""
import datetime as dt
import email
import socket
from email import policy

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import insert, select

from app.exchange.delivery import Delivered, deliver, notice_rows, retry_failed_notifications
from app.extensions import db
from app.models import (
    Channel,
    ContactKind,
    Decision,
    DeliveryPreference,
    FinalStatus,
    FinalValue,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutboxMessage,
)
from app.services.lessons import cancel, reschedule, substitute
from tests.consent_helpers import OCT_1, add_contact, add_guardian, count, record, ru
from tests.forecast_helpers import final
from tests.journal_helpers import add_lessons, bell_slot, period_of, staff_of

pytestmark = pytest.mark.usefixtures("school_today")  # the clock reads TODAY

TITLE = "Прогноз итоговых отметок: 2 четверть"
BODY = "Алексеев Иван Иванович, класс 5А: Математика — средний балл 4,50, прогноз 5"
NOW = dt.datetime(2026, 11, 20, 10, 0)
NO_CONSENT = "No current consent to electronic delivery: on paper"
NO_EMAIL = "No e-mail with a recorded provenance"
DELIVERED = OutboxMessage.entity == "notification"  # the capture queues its own messages too


class Inbox:
    """An aiosmtpd handler keeping every envelope it accepts."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[email.message.EmailMessage]:
        """The received messages, parsed."""
        return [email.message_from_bytes(e.content, policy=policy.default) for e in self.envelopes]


def free_port() -> int:
    """A loopback port nobody listens on (at the moment of asking)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp(app):
    """A real SMTP server on loopback; the app's SMTP_URL points at it."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{controller.port}"
    app.config["SMTP_FROM"] = "journal@school-a.ru"
    yield inbox
    controller.stop()


def notification(world, kid: str = "Алексеев", kind: NotificationKind = NotificationKind.forecast) -> Notification:
    """A pending notification for a student's family, committed."""
    student = world.students[kid]
    n = Notification(school_id=student.school_id, student_id=student.id, kind=kind,
                     period=period_of(world.year_a, 2), title=TITLE, body=BODY, key=f"test:{kid}:{kind.value}")
    db.session.add(n)
    db.session.commit()
    return n


def prefer(world, channel: Channel, contact=None, kid: str = "Алексеев") -> None:
    """The family's agreed channel (and contact)."""
    student = world.students[kid]
    db.session.add(DeliveryPreference(school_id=student.school_id, student_id=student.id, channel=channel,
                                      contact=contact))
    db.session.commit()


def fresh(n: Notification) -> Notification:
    """The notification as committed."""
    db.session.expire_all()
    return db.session.get(Notification, n.id)


def test_an_email_reaches_the_contact_with_provenance(world, smtp):
    record(world)
    prefer(world, Channel.email, add_contact(world, "Алексеева", ContactKind.email, "mama@example.ru"))
    n = notification(world)
    assert deliver() == Delivered(sent_email=1)
    [envelope], [msg] = smtp.envelopes, smtp.messages()
    assert envelope.rcpt_tos == ["mama@example.ru"] and envelope.mail_from == "journal@school-a.ru"
    assert msg["To"] == "mama@example.ru" and msg["Subject"] == TITLE
    assert msg.get_content_type() == "text/plain" and msg.get_content_charset() == "utf-8"
    text = msg.get_content()
    assert BODY in text
    assert ru("This message was sent by the electronic journal of %(school)s because the family chose delivery by "
              "e-mail. To change the channel, apply to the school's registrar.", school="МБОУ «Школа А»") in text
    n = fresh(n)
    assert (n.status, n.channel, n.failure, n.sent_at is not None) == (NotificationStatus.sent, "email", "", True)
    assert count(OutboxMessage, DELIVERED) == 0


def test_without_a_chosen_contact_every_recorded_email_of_the_representatives_gets_it(world, smtp):
    record(world)
    add_guardian(world, "Алексеев", "Алексеев-старший")
    add_contact(world, "Алексеева", ContactKind.email, "mama@example.ru")
    add_contact(world, "Алексеев-старший", ContactKind.email, "papa@example.ru")
    add_contact(world, "Васильева", ContactKind.email, "other@example.ru")  # another family
    prefer(world, Channel.email)
    notification(world)
    assert deliver() == Delivered(sent_email=1)
    assert sorted(smtp.envelopes[0].rcpt_tos) == ["mama@example.ru", "papa@example.ru"]


@pytest.mark.parametrize("flaw", ["no document reference", "inactive"])
def test_a_contact_without_recorded_provenance_or_inactive_is_not_used(world, smtp, flaw):
    record(world)
    contact = add_contact(world, "Алексеева", ContactKind.email, "mama@example.ru",
                          reference="" if flaw == "no document reference" else "Заявление №7")
    contact.active = flaw != "inactive"
    db.session.commit()
    prefer(world, Channel.email, contact)
    n = notification(world)
    assert deliver() == Delivered(failed=1)
    n = fresh(n)
    assert (n.status, n.failure, n.sent_at) == (NotificationStatus.failed, ru(NO_EMAIL), None)
    assert smtp.envelopes == []


@pytest.mark.parametrize("channel", [Channel.email, Channel.portal])
@pytest.mark.parametrize("standing", ["undecided", "refused", "withdrawn"])
def test_without_current_consent_nothing_leaves(world, smtp, standing, channel):
    if standing == "refused":
        record(world, Decision.refusal)
    elif standing == "withdrawn":
        record(world)
        record(world, Decision.withdrawal, on=OCT_1)
    prefer(world, channel, add_contact(world, "Алексеева", ContactKind.email, "mama@example.ru"))
    n = notification(world)
    assert deliver() == Delivered(paper=1)
    n = fresh(n)
    assert (n.status, n.channel, n.failure, n.sent_at) == (NotificationStatus.paper, "", ru(NO_CONSENT), None)
    assert smtp.envelopes == [] and count(OutboxMessage, DELIVERED) == 0


@pytest.mark.parametrize(("kind", "outbox_kind"), [(NotificationKind.forecast, "forecast"),
                                                   (NotificationKind.lesson_change, "notice")])
def test_the_portal_channel_goes_through_the_outbox(world, smtp, kind, outbox_kind):
    record(world)
    prefer(world, Channel.portal)
    n = notification(world, kind=kind)
    period = str(n.period.title)
    assert deliver(now=NOW) == Delivered(sent_portal=1)
    [message] = db.session.scalars(select(OutboxMessage).where(DELIVERED)).all()
    assert (message.kind, message.entity, message.entity_id, message.student_id, message.school_id) == (
        outbox_kind, "notification", n.id, world.students["Алексеев"].id, world.school_a.id)
    assert message.payload == {"topic": kind.value, "title": TITLE, "text": BODY, "period": period}
    assert len(message.key) == 32
    n = fresh(n)
    assert (n.status, n.channel, n.sent_at) == (NotificationStatus.sent, "portal", NOW)
    assert smtp.envelopes == []


def test_paper_by_choice_and_the_portal_when_a_consent_names_no_channel(world, smtp):
    record(world)
    record(world, kid="Васильев", guardian="Васильева")
    prefer(world, Channel.paper, add_contact(world, "Алексеева", ContactKind.email, "mama@example.ru"))
    add_contact(world, "Васильева", ContactKind.email, "vasilieva@example.ru")  # a contact is no choice of channel
    chosen, unsaid = notification(world), notification(world, kid="Васильев")
    assert deliver() == Delivered(paper=1, sent_portal=1)
    assert (fresh(chosen).status, fresh(chosen).failure) == (NotificationStatus.paper, "")
    assert (fresh(unsaid).status, fresh(unsaid).channel) == (NotificationStatus.sent, "portal")
    assert smtp.envelopes == [] and count(OutboxMessage, DELIVERED) == 1


def test_batches_settle_every_family_by_its_own_channel(world, smtp):
    record(world)
    record(world, kid="Васильев", guardian="Васильева")
    prefer(world, Channel.email, add_contact(world, "Алексеева", ContactKind.email, "mama@example.ru"))
    prefer(world, Channel.portal, kid="Васильев")
    for kid in ("Алексеев", "Борисов", "Васильев"):
        notification(world, kid=kid)
    assert deliver(limit=1) == Delivered(sent_email=1, sent_portal=1, paper=1)
    assert count(Notification, Notification.status == NotificationStatus.pending) == 0
    assert len(smtp.envelopes) == 1 and count(OutboxMessage, DELIVERED) == 1


def test_a_server_down_fails_with_the_reason_and_a_retry_sends_it(app, world, smtp):
    record(world)
    prefer(world, Channel.email, add_contact(world, "Алексеева", ContactKind.email, "mama@example.ru"))
    n = notification(world)
    working = app.config["SMTP_URL"]
    app.config["SMTP_URL"] = f"smtp://127.0.0.1:{free_port()}"
    assert deliver() == Delivered(failed=1)
    n = fresh(n)
    assert n.status == NotificationStatus.failed and n.sent_at is None
    assert n.failure.startswith(ru("Mail server: %(error)s", error="")) and "refused" in n.failure.lower()
    assert deliver() == Delivered()  # failed ones wait for a retry

    assert retry_failed_notifications() == 1
    db.session.commit()
    assert (fresh(n).status, fresh(n).failure) == (NotificationStatus.pending, "")
    app.config["SMTP_URL"] = working
    assert deliver() == Delivered(sent_email=1)
    assert fresh(n).status == NotificationStatus.sent and len(smtp.envelopes) == 1


def test_notice_rows_of_a_final_grade(world):
    grade = final(world, "Алексеев", FinalValue.five)
    kid, other = world.students["Алексеев"].id, world.students["Борисов"].id
    rows = notice_rows(grade, [kid, other], NOW)
    period = str(grade.period.title)
    assert [r["key"] for r in rows] == [f"final:{grade.id}:v{grade.version}:{kid}"]  # nobody else's business
    [row] = rows
    assert row["title"] == ru("Final grade: %(subject)s, %(period)s", subject="Математика", period=period)
    assert row["body"] == ru("%(student)s: the final grade in %(subject)s for %(period)s is %(value)s.",
                             student="Алексеев Иван Иванович", subject="Математика", period=period, value="5")
    assert {k: row[k] for k in ("school_id", "student_id", "kind", "period_id", "status", "created_at")} == {
        "school_id": world.school_a.id, "student_id": kid, "kind": "final_grade", "period_id": grade.period_id,
        "status": "pending", "created_at": NOW}
    db.session.execute(insert(Notification), [{**row, "key": "copy:" + row["key"]}])  # fits the table
    stored = db.session.scalar(select(Notification).where(Notification.key == "copy:" + row["key"]))
    assert (stored.kind, stored.status) == (NotificationKind.final_grade, NotificationStatus.pending)


@pytest.mark.parametrize("status", [FinalStatus.proposed, FinalStatus.deferred])
def test_a_final_not_yet_confirmed_tells_nothing(world, status):
    grade = final(world, "Алексеев", FinalValue.four, status=status)
    assert notice_rows(grade, [world.students["Алексеев"].id], NOW) == []


@pytest.mark.parametrize("change", ["substitution", "rescheduling", "cancellation"])
def test_notice_rows_of_a_lesson_change(world, change):
    [lesson] = add_lessons(world, dt.date(2026, 11, 23))
    if change == "substitution":
        obj = substitute(lesson, staff_of("teacher_b"), "Болезнь учителя", by="director")
        title, what = "Substitution: %(subject)s, %(date)s", ru(
            "The lesson of %(subject)s on %(date)s will be taught by %(teacher)s.", subject="Математика",
            date="23.11.2026", teacher=staff_of("teacher_b").full_name)
    elif change == "rescheduling":
        obj = reschedule(lesson, dt.date(2026, 11, 24), bell_slot(world, 2), "Болезнь учителя", by="director")
        title, what = "Lesson moved: %(subject)s, %(date)s", ru(
            "The lesson of %(subject)s on %(date)s is moved to %(new_date)s, lesson %(number)s.",
            subject="Математика", date="23.11.2026", new_date="24.11.2026", number=2)
    else:
        obj = cancel(lesson, "Болезнь учителя", by="director")
        title, what = "Lesson cancelled: %(subject)s, %(date)s", ru(
            "The lesson of %(subject)s on %(date)s is cancelled.", subject="Математика", date="23.11.2026")
    db.session.commit()
    kids = [world.students["Алексеев"].id, world.students["Борисов"].id]
    rows = notice_rows(obj, kids, NOW)
    assert [r["key"] for r in rows] == [f"change:{obj.id}:{kid}" for kid in kids]
    assert {r["title"] for r in rows} == {ru(title, subject="Математика", date="23.11.2026")}
    assert {r["body"] for r in rows} == {f"{what}\n" + ru("Reason: %(reason)s", reason="Болезнь учителя")}
    assert {(r["kind"], r["period_id"], r["status"]) for r in rows} == {("lesson_change", None, "pending")}
