"""Решение педагогического совета at the end of a year: what became of each student (promoted,
promoted conditionally with the subjects owed, retained, graduated, left)."""
import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, SchoolOwned, enum_column


class PromotionOutcome(StrEnum):
    """Переведён, переведён условно, оставлен на повторное обучение, окончил (9 or 11), выбыл."""

    promoted = "promoted"
    conditional = "conditional"
    retained = "retained"
    graduated = "graduated"
    left = "left"


class PromotionDecision(SchoolOwned, Model):
    """A student's outcome of a closed year, decided from the year finals; `owed` lists the subjects of
    the academic debt (a year final of 2, незач or н/а) of a conditional transfer or a retention."""

    __tablename__ = "promotion_decision"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("academic_year.id"), index=True)
    year = relationship("AcademicYear")
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    student = relationship("Student")
    class_unit_id: Mapped[int] = mapped_column(ForeignKey("class_unit.id"), index=True)
    class_unit = relationship("ClassUnit", foreign_keys=[class_unit_id])
    next_class_id: Mapped[int | None] = mapped_column(ForeignKey("class_unit.id"), nullable=True)
    next_class = relationship("ClassUnit", foreign_keys=[next_class_id])
    outcome: Mapped[PromotionOutcome] = mapped_column(enum_column(PromotionOutcome, 16))
    owed: Mapped[str] = mapped_column(String(500), default="")
    decided_on: Mapped[dt.date] = mapped_column(Date)
    decided_by: Mapped[str] = mapped_column(String(100), default="")
    __table_args__ = (UniqueConstraint("year_id", "student_id", name="uq_promotion_decision"),)

    def __repr__(self) -> str:
        return f"{self.student} — {self.outcome.value}"
