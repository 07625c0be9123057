"""The outbox of the portal exchange (SPEC §6): one row per message a family's diary must receive,
written in the same transaction as the change it tells about."""
import datetime as dt
from enum import StrEnum

from sqlalchemy import JSON, Boolean, Computed, DateTime, ForeignKey, Index, Integer, String, func, text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.models.base import Model, SchoolOwned, enum_column
from app.services.clock import utcnow

WAITING_SQL = "status IN ('queued', 'sending')"
# Not settled yet: waiting, failed (it may be retried), or cancelled while a worker still holds it (its lease).
UNSETTLED_SQL = "status IN ('queued', 'sending', 'failed') OR claimed_until IS NOT NULL"


class OutboxStatus(StrEnum):
    """Queued → sending (claimed by a worker) → accepted by the portal; or failed with a reason
    (rejected, or out of attempts), or cancelled (the consent ended before it left)."""

    queued = "queued"
    sending = "sending"
    accepted = "accepted"
    failed = "failed"
    cancelled = "cancelled"


class MessageContent:
    """What a diary message is, in the outbox and in its archive alike."""

    key: Mapped[str] = mapped_column(String(36), unique=True)  # the idempotency key on the wire
    kind: Mapped[str] = mapped_column(String(24))
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"))
    entity: Mapped[str] = mapped_column(String(40), default="")
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    entity_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[dict] = mapped_column(JSON)

    @declared_attr
    def student(cls):  # noqa: N805
        return relationship("Student")


class OutboxMessage(MessageContent, SchoolOwned, Model):
    """A diary message for one student's family, waiting for (or done with) the portal."""

    __tablename__ = "outbox_message"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus, 12), default=OutboxStatus.queued)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    worker: Mapped[str] = mapped_column(String(60), default="")
    accepted_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    failure: Mapped[str] = mapped_column(String(500), default="")
    # Queued or sending, computed by the database. The job looks only at waiting rows, oldest first: a partial
    # index keeps that cheap however long the history of accepted messages grows. On PostgreSQL the index is
    # on this column rather than on status, and pages are kept half empty, so a claim (queued → sending) leaves
    # every indexed value as it was and is a HOT update (no new index entries; issue 19, migration 0015).
    waiting: Mapped[bool] = mapped_column(Boolean, Computed(WAITING_SQL, persisted=True))
    # The other secondary indexes are partial too, over unsettled messages (a column of its own, so a claim
    # still changes no indexed value): writing a receipt that settles a message adds index entries to the primary
    # key and the key only, not four.
    unsettled: Mapped[bool] = mapped_column(Boolean, Computed(UNSETTLED_SQL, persisted=True))
    school_id: Mapped[int] = mapped_column(Integer, ForeignKey("school.id"))
    __table_args__ = (
        Index("ix_outbox_waiting", "id", postgresql_where=text("waiting"), sqlite_where=text(WAITING_SQL)),
        Index("ix_outbox_unsettled_school", "school_id", postgresql_where=text("unsettled")),
        Index("ix_outbox_unsettled_student", "student_id", postgresql_where=text("unsettled")),
        {"postgresql_with": {"fillfactor": 50}},
    )

    def __repr__(self) -> str:
        return f"№{self.id} {self.kind}: {self.status.value}"


class OutboxArchive(MessageContent, SchoolOwned, Model):
    """An accepted message moved out of the outbox by `exchange prune` (same id, key and content): the job's
    table stays the size of what is in flight, the school keeps what each family received and when."""

    __tablename__ = "outbox_archive"
    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str] = mapped_column(String(60), default="")
    accepted_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    archived_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    __table_args__ = (Index("ix_outbox_archive_student_id", "student_id"),)

    def __repr__(self) -> str:
        return f"№{self.id} {self.kind}: archived"
