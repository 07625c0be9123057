"""Consents to the processing of personal data (append-only), contacts and delivery preferences."""
import datetime as dt
from enum import StrEnum

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, SchoolOwned, enum_column


class Decision(StrEnum):
    """Согласие, отказ, отзыв согласия."""

    consent = "consent"
    refusal = "refusal"
    withdrawal = "withdrawal"


class DocumentKind(StrEnum):
    """A paper statement or an electronic document."""

    paper = "paper"
    electronic = "electronic"


class ContactKind(StrEnum):
    """Where a family can be reached."""

    portal = "portal"
    email = "email"
    phone = "phone"
    postal = "postal"


class Provenance(StrEnum):
    """How the family gave the contact (regulation point 7)."""

    written_statement = "written_statement"
    electronic_document = "electronic_document"


class Channel(StrEnum):
    """The delivery form the family agreed to."""

    portal = "portal"
    email = "email"
    paper = "paper"


class Consent(SchoolOwned, Model):
    """A legal representative's decision about a student's personal data, with the content that
    152-ФЗ ст.9 ч.4 requires. Never edited or deleted: a later decision supersedes it."""

    __tablename__ = "consent"
    __audited__ = True
    __append_only__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardian.id"), index=True)
    guardian = relationship("Guardian")
    decision: Mapped[Decision] = mapped_column(enum_column(Decision, 24))
    decided_on: Mapped[dt.date] = mapped_column(Date)
    authority_basis: Mapped[str] = mapped_column(String(300))
    operator: Mapped[str] = mapped_column(String(300))
    purpose: Mapped[str] = mapped_column(Text)
    data_list: Mapped[str] = mapped_column(Text)
    actions: Mapped[str] = mapped_column(Text)
    term: Mapped[str] = mapped_column(String(300))
    withdrawal_procedure: Mapped[str] = mapped_column(Text)
    document_kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind, 24))
    document_number: Mapped[str] = mapped_column(String(100), default="")
    document_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    electronic_document_id: Mapped[str] = mapped_column(String(200), default="")
    recorded_by: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    def __repr__(self) -> str:
        return f"{self.decided_on:%d.%m.%Y} {self.decision.value}: {self.student}"


class ContactPoint(SchoolOwned, Model):
    """A legal representative's contact with its provenance (written statement or e-document)."""

    __tablename__ = "contact_point"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardian.id"), index=True)
    guardian = relationship("Guardian")
    kind: Mapped[ContactKind] = mapped_column(enum_column(ContactKind, 24))
    value: Mapped[str] = mapped_column(String(300))
    provenance: Mapped[Provenance] = mapped_column(enum_column(Provenance, 24))
    document_reference: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    __table_args__ = (UniqueConstraint("guardian_id", "kind", "value", name="uq_contact"),)

    def __repr__(self) -> str:
        return f"{self.value}"


class DeliveryPreference(SchoolOwned, Model):
    """The channel a student's family agreed to, and the contact to use."""

    __tablename__ = "delivery_preference"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), unique=True)
    student = relationship("Student")
    channel: Mapped[Channel] = mapped_column(enum_column(Channel, 24))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact_point.id"), nullable=True)
    contact = relationship("ContactPoint")

    def __repr__(self) -> str:
        return f"{self.student}: {self.channel.value}"
