"""The audit trail: who changed what, when, with the values before and after."""
import datetime as dt

from sqlalchemy import JSON, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model


class AuditEvent(Model):
    """One create, update or delete of an audited row, written in the same transaction and chained
    to the previous event of the same school by hash (tamper-evident; no school: a chain of its own)."""

    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_school_id_id", "school_id", "id"),)  # a chain's head, by index
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    school_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str] = mapped_column(String(100))
    entity: Mapped[str] = mapped_column(String(50), index=True)
    entity_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    action: Mapped[str] = mapped_column(String(10))
    before: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    after: Mapped[dict | None] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")

    def __repr__(self) -> str:
        return f"{self.at:%d.%m.%Y %H:%M} {self.username} {self.action} {self.entity}#{self.entity_id}"


class AuditChainStart(Model):
    """Where the per-school chains begin: events with a smaller id were written as one chain over every
    school (before migration 0012) and verify as such; absent, every event is chained per school."""

    __tablename__ = "audit_chain_start"
    id: Mapped[int] = mapped_column(primary_key=True)
    per_school_from: Mapped[int] = mapped_column(Integer)
