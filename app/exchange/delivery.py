"""Notifications by the family's effective channel (SPEC §1 p.7, §5; `consent.channels`, asked once per batch):
portal through the outbox, e-mail through SMTP to contacts whose provenance is recorded, paper otherwise — the
same families the paper extracts are for; nothing leaves without current consent.

`SMTP_URL`: `smtp://[user:password@]host[:port][?starttls=1]` or `smtps://…` (TLS from the start); `SMTP_FROM` is
the sender, `SMTP_TIMEOUT` the seconds to wait for the server.
"""
import datetime as dt
import smtplib
import ssl
from collections import defaultdict
from contextlib import closing, suppress
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from app.exchange.capture import message_row
from app.extensions import db
from app.models import (
    ChangeKind,
    Channel,
    ContactKind,
    ContactPoint,
    DeliveryPreference,
    FinalGrade,
    FinalStatus,
    LessonChange,
    Notification,
    NotificationKind,
    NotificationStatus,
    OutboxMessage,
    StudentGuardian,
)
from app.services import clock
from app.services.consent import channels

SENT, FAILED, PAPER = NotificationStatus.sent, NotificationStatus.failed, NotificationStatus.paper


@dataclass
class Delivered:
    """What a run did, notification by notification."""

    sent_portal: int = 0
    sent_email: int = 0
    paper: int = 0
    failed: int = 0

    def count(self, status: NotificationStatus, channel: str) -> None:
        """One more notification settled."""
        name = f"sent_{channel}" if status == SENT else status.value
        setattr(self, name, getattr(self, name) + 1)


def deliver(now: dt.datetime | None = None, limit: int = 500) -> Delivered:
    """Settle every pending notification, oldest first, `limit` at a time (rows locked, SKIP LOCKED, so that
    parallel runs never send one twice). Commits after each batch: an e-mail that left cannot be called back, so
    its record must not wait for the caller."""
    now = now or clock.utcnow()
    result, last = Delivered(), 0
    while batch := db.session.scalars(
            select(Notification).where(Notification.status == NotificationStatus.pending, Notification.id > last)
            .order_by(Notification.id).limit(limit).with_for_update(skip_locked=True)).all():
        with _families_locale():
            _deliver_batch(batch, now, result)
        last = batch[-1].id
        db.session.commit()
    return result


def retry_failed_notifications() -> int:
    """Put failed notifications back in the queue; returns how many (the caller commits)."""
    return db.session.execute(update(Notification).where(Notification.status == FAILED).values(
        status=NotificationStatus.pending, channel="", failure="")).rowcount


def _deliver_batch(batch: list[Notification], now: dt.datetime, result: Delivered) -> None:
    ids = list({n.student_id for n in batch})
    prefs = {p.student_id: p for p in db.session.scalars(
        select(DeliveryPreference).where(DeliveryPreference.student_id.in_(ids)))}
    channel_of = channels(ids, at=clock.today(), chosen={sid: p.channel for sid, p in prefs.items()})
    contacts = _recorded_contacts([sid for sid in ids if channel_of[sid] == Channel.email])
    with closing(_Mailer()) as mail:
        for n in batch:
            status, channel, failure = _route(n, channel_of[n.student_id], prefs.get(n.student_id),
                                              contacts[n.student_id], mail)
            n.status, n.channel, n.failure = status, channel, failure[:300]
            n.sent_at = now if status == SENT else None
            result.count(status, channel)


def _recorded_contacts(student_ids) -> dict[int, list[ContactPoint]]:
    """Active portal and e-mail contacts of each student's legal representatives with a provenance document."""
    found = defaultdict(list)
    if student_ids:
        for sid, contact in db.session.execute(
                select(StudentGuardian.student_id, ContactPoint)
                .join(ContactPoint, ContactPoint.guardian_id == StudentGuardian.guardian_id)
                .where(StudentGuardian.student_id.in_(student_ids), ContactPoint.active.is_(True),
                       ContactPoint.kind == ContactKind.email)
                .order_by(ContactPoint.id)):
            if contact.provenance and (contact.document_reference or "").strip():
                found[sid].append(contact)
    return found


def _route(n: Notification, channel: Channel, pref: DeliveryPreference | None, contacts: list[ContactPoint],
           mail: "_Mailer") -> tuple[NotificationStatus, str, str]:
    """Deliver one notification by the family's effective channel: its status, channel and failure reason."""
    if channel == Channel.paper:
        chosen = pref is not None and pref.channel == Channel.paper
        return PAPER, "", "" if chosen else _("No current consent to electronic delivery: on paper")
    if channel == Channel.portal:
        db.session.add(_outbox(n))
        return SENT, "portal", ""
    emails = [c.value for c in contacts if c.kind == ContactKind.email]
    to = [c.value for c in contacts if pref and c.id == pref.contact_id and c.kind == ContactKind.email] or emails
    if not to:
        return FAILED, "email", _("No e-mail with a recorded provenance")
    try:
        refused = mail.send(_email(n, list(dict.fromkeys(to))))
    except (OSError, ValueError) as exc:  # smtplib's errors are OSErrors; ValueError: a malformed SMTP_URL
        return FAILED, "email", _("Mail server: %(error)s", error=exc)
    return SENT, "email", _("Refused by the mail server: %(addresses)s", addresses=", ".join(refused)) if refused \
        else ""


def _outbox(n: Notification) -> OutboxMessage:
    kind = "forecast" if n.kind == NotificationKind.forecast else "notice"
    payload = {"topic": n.kind.value, "title": n.title, "text": n.body, "period": n.period.title if n.period else None}
    return OutboxMessage(**message_row(kind, n.student_id, n.school_id, payload, clock.utcnow(), "notification", n.id))


def _email(n: Notification, to: list[str]) -> EmailMessage:
    sender = current_app.config.get("SMTP_FROM", "journal@school.local")
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, ", ".join(to), n.title
    msg["Date"] = formatdate(localtime=True)
    msg["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or "school.local")
    footer = _("This message was sent by the electronic journal of %(school)s because the family chose delivery "
               "by e-mail. To change the channel, apply to the school's registrar.", school=n.school.full_name)
    msg.set_content(f"{n.body}\n\n-- \n{footer}\n", cte="base64")
    return msg


class _Mailer:
    """One SMTP connection per batch, opened for its first e-mail. If the server cannot be reached (or the
    connection breaks), the batch's other e-mails fail with the same reason at once."""

    def __init__(self):
        self.smtp: smtplib.SMTP | None = None
        self.broken: Exception | None = None

    def send(self, msg: EmailMessage) -> dict:
        """Send one message; returns the recipients the server refused (when it accepted some)."""
        if self.broken is not None:
            raise self.broken
        try:
            if self.smtp is None:
                config = current_app.config
                self.smtp = _connect(config.get("SMTP_URL", "smtp://127.0.0.1:25"),
                                     float(config.get("SMTP_TIMEOUT", 10)))
            return self.smtp.send_message(msg)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError):
            raise  # this message only: the connection is fine
        except (OSError, ValueError) as exc:
            self.broken = exc
            raise

    def close(self) -> None:
        """Say goodbye to the server, if it is still there."""
        if self.smtp is not None:
            with suppress(OSError):
                self.smtp.quit()


def _connect(url: str, timeout: float) -> smtplib.SMTP:
    """An SMTP session from an `SMTP_URL` (see the module's docstring)."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps"):
        raise ValueError(f"SMTP_URL must start with smtp:// or smtps://, not {parts.scheme}://")
    tls = ssl.create_default_context()
    if parts.scheme == "smtps":
        smtp = smtplib.SMTP_SSL(parts.hostname or "localhost", parts.port or 465, timeout=timeout, context=tls)
    else:
        smtp = smtplib.SMTP(parts.hostname or "localhost", parts.port or 25, timeout=timeout)
    try:
        if parse_qs(parts.query).get("starttls", [""])[0].lower() in ("1", "true", "yes"):
            smtp.starttls(context=tls)
        if parts.username:
            smtp.login(unquote(parts.username), unquote(parts.password or ""))
    except BaseException:
        smtp.close()
        raise
    return smtp


def _families_locale():
    """Families read the school's language, whoever's request composes or sends their messages."""
    return force_locale(current_app.config.get("BABEL_DEFAULT_LOCALE", "ru"))


def notice_rows(obj, student_ids: list[int], now: dt.datetime) -> list[dict]:
    """Notification rows (plain dicts for a Core insert) telling the families of `student_ids` about a confirmed
    final grade or a lesson change; anything else (a proposed or deferred final) tells nothing. Reads `obj` and its
    relationships only, so the outbox capture may call it while flushing."""
    with _families_locale():
        if isinstance(obj, FinalGrade) and obj.status == FinalStatus.final:
            ids = [sid for sid in student_ids if sid == obj.student_id]  # a final is its own student's business
            kind, period_id, key = NotificationKind.final_grade, obj.period_id, f"final:{obj.id}:v{obj.version}:"
            title, body = _final_text(obj)
        elif isinstance(obj, LessonChange):
            ids, kind, period_id, key = student_ids, NotificationKind.lesson_change, None, f"change:{obj.id}:"
            title, body = _change_text(obj)
        else:
            return []
    return [{"school_id": obj.school_id, "student_id": sid, "kind": kind.value, "period_id": period_id,
             "title": title[:200], "body": body, "key": f"{key}{sid}", "status": NotificationStatus.pending.value,
             "channel": "", "failure": "", "created_at": now} for sid in dict.fromkeys(ids)]


def _final_text(grade: FinalGrade) -> tuple[str, str]:
    names = {"subject": grade.subject.name, "period": grade.period.title}
    return _("Final grade: %(subject)s, %(period)s", **names), _(
        "%(student)s: the final grade in %(subject)s for %(period)s is %(value)s.",
        student=grade.student.full_name, value=grade.value.value if grade.value else "—", **names)


def _change_text(change: LessonChange) -> tuple[str, str]:
    names = {"subject": change.lesson.assignment.subject.name, "date": f"{change.old_date:%d.%m.%Y}"}
    if change.kind == ChangeKind.substitution:
        title = _("Substitution: %(subject)s, %(date)s", **names)
        what = _("The lesson of %(subject)s on %(date)s will be taught by %(teacher)s.",
                 teacher=change.new_teacher.full_name if change.new_teacher else "—", **names)
    elif change.kind == ChangeKind.rescheduling:
        title = _("Lesson moved: %(subject)s, %(date)s", **names)
        what = _("The lesson of %(subject)s on %(date)s is moved to %(new_date)s, lesson %(number)s.",
                 new_date=f"{change.new_date:%d.%m.%Y}" if change.new_date else "—",
                 number=change.new_slot.number if change.new_slot else "—", **names)
    else:
        title = _("Lesson cancelled: %(subject)s, %(date)s", **names)
        what = _("The lesson of %(subject)s on %(date)s is cancelled.", **names)
    return title, f"{what}\n" + _("Reason: %(reason)s", reason=change.reason)
