"""Безотметочное и зачётное обучение: where the school assesses without 1–5 marks."""
from enum import StrEnum

from sqlalchemy import ForeignKey, SmallInteger, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, SchoolOwned, enum_column


class AssessmentMode(StrEnum):
    """Unmarked: no marks and no finals (e.g. grade 1); pass/fail: no marks, finals зач/незач."""

    unmarked = "unmarked"
    pass_fail = "pass_fail"


class AssessmentRule(SchoolOwned, Model):
    """The mode of a grade in one subject, or (no subject) in every subject of the grade; a rule for
    the subject wins over the grade's."""

    __tablename__ = "assessment_rule"
    __audited__ = True  # it decides what families see (marks, finals)
    id: Mapped[int] = mapped_column(primary_key=True)
    grade: Mapped[int] = mapped_column(SmallInteger)
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), nullable=True, index=True)
    subject = relationship("Subject")
    mode: Mapped[AssessmentMode] = mapped_column(enum_column(AssessmentMode, 12))
    __table_args__ = (UniqueConstraint("school_id", "grade", "subject_id", name="uq_assessment_rule"),)

    def __repr__(self) -> str:
        return f"{self.grade} — {self.subject or '*'}: {self.mode.value if self.mode else ''}"
