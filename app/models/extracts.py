"""The print log of paper extracts: every printed extract has a number and the hash of the file."""
import datetime as dt

from sqlalchemy import Date, DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, SchoolOwned


class ExtractLog(SchoolOwned, Model):
    """Выписка: its number (sequential per school), whom and what it covers, who printed it and
    the SHA-256 of the PDF file delivered (a batch file is shared by the extracts it holds)."""

    __tablename__ = "extract_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(24), index=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    class_unit_id: Mapped[int | None] = mapped_column(ForeignKey("class_unit.id"), nullable=True)
    class_unit = relationship("ClassUnit")
    period_id: Mapped[int] = mapped_column(ForeignKey("reporting_period.id"))
    period = relationship("ReportingPeriod")
    sections: Mapped[str] = mapped_column(String(200), default="")
    date_from: Mapped[dt.date] = mapped_column(Date)
    date_to: Mapped[dt.date] = mapped_column(Date)
    printed_by: Mapped[str] = mapped_column(String(100))
    printed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    sha256: Mapped[str] = mapped_column(String(64), default="", index=True)
    batch_size: Mapped[int] = mapped_column(Integer, default=1)
    first_page: Mapped[int] = mapped_column(Integer, default=1)
    pages: Mapped[int] = mapped_column(Integer, default=0)
    __table_args__ = (UniqueConstraint("school_id", "seq", name="uq_extract_seq"),
                      UniqueConstraint("school_id", "number", name="uq_extract_number"))

    def __repr__(self) -> str:
        return self.number
