"""Results: final grades of periods and the year, exam and competition results, and the
notifications composed for families (forecast digests, new finals)."""
import datetime as dt
from enum import StrEnum

from sqlalchemy import Date, DateTime, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, SchoolOwned, enum_column
from app.services.clock import utcnow


class FinalValue(StrEnum):
    """Итоговая отметка: 5/4/3/2, зачёт/незачёт, не аттестован, освобождён."""

    five = "5"
    four = "4"
    three = "3"
    two = "2"
    passed = "зач"
    failed = "незач"
    not_certified = "н/а"
    exempt = "осв"

    @property
    def number(self) -> int | None:
        """The numeric grade, or None for зач/незач/н/а/осв."""
        return int(self.value) if self.value.isdigit() else None


NUMERIC_FINALS = (FinalValue.five, FinalValue.four, FinalValue.three, FinalValue.two)
PASS_FAIL_FINALS = (FinalValue.passed, FinalValue.failed)
SPECIAL_FINALS = (FinalValue.not_certified, FinalValue.exempt)


class FinalStatus(StrEnum):
    """Proposed from marks, final once the teacher confirms, or deferred by the administration."""

    proposed = "proposed"
    final = "final"
    deferred = "deferred"


class FinalGrade(SchoolOwned, Model):
    """Итоговая отметка of a student in a subject for a reporting period (or the year)."""

    __tablename__ = "final_grade"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    subject = relationship("Subject")
    period_id: Mapped[int] = mapped_column(ForeignKey("reporting_period.id"), index=True)
    period = relationship("ReportingPeriod")
    value: Mapped[FinalValue | None] = mapped_column(enum_column(FinalValue, 8), nullable=True)
    proposed_value: Mapped[FinalValue | None] = mapped_column(enum_column(FinalValue, 8), nullable=True)
    average: Mapped[float | None] = mapped_column(Float, nullable=True)
    status: Mapped[FinalStatus] = mapped_column(enum_column(FinalStatus), default=FinalStatus.proposed)
    deferral_reason: Mapped[str] = mapped_column(String(300), default="")
    deferral_deadline: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    decision_reason: Mapped[str] = mapped_column(String(300), default="", server_default="")  # early or on few marks
    result_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    decided_by: Mapped[str] = mapped_column(String(100), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (
        UniqueConstraint("student_id", "subject_id", "period_id", name="uq_final_grade"),
        # the statistics read a school's period through it alone (services/stats.py)
        Index("ix_final_grade_school_period", "school_id", "period_id", "status", "student_id", "subject_id", "value"),
    )
    __mapper_args__ = {"version_id_col": version}

    def __repr__(self) -> str:
        shown = self.value.value if self.value else "—"
        return f"{self.student} — {self.subject}: {shown}"


class ExamKind(StrEnum):
    """An examination or a competition (олимпиада, конкурс)."""

    exam = "exam"
    competition = "competition"


class ExamResult(SchoolOwned, Model):
    """Результат экзамена или конкурса; reaches the family within 24 hours of `result_date`."""

    __tablename__ = "exam_result"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), nullable=True)
    subject = relationship("Subject")
    kind: Mapped[ExamKind] = mapped_column(enum_column(ExamKind), default=ExamKind.exam)
    name: Mapped[str] = mapped_column(String(200))
    date: Mapped[dt.date] = mapped_column(Date)
    score: Mapped[float | None] = mapped_column(Float, nullable=True)
    grade: Mapped[str] = mapped_column(String(20), default="")
    result_date: Mapped[dt.date] = mapped_column(Date)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, server_default=func.now())  # 24 h run
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)

    def __repr__(self) -> str:
        return f"{self.name} {self.date:%d.%m.%Y}: {self.student}"


class NotificationKind(StrEnum):
    """What a family is told about."""

    forecast = "forecast"
    final_grade = "final_grade"
    lesson_change = "lesson_change"


class NotificationStatus(StrEnum):
    """Composed, then sent by the delivery job, failed with a reason, or left to paper (the family
    agreed to paper, or has no current consent)."""

    pending = "pending"
    sent = "sent"
    failed = "failed"
    paper = "paper"


class Notification(SchoolOwned, Model):
    """A message composed for a student's family; the delivery job sends it by their channel."""

    __tablename__ = "notification"
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    kind: Mapped[NotificationKind] = mapped_column(enum_column(NotificationKind))
    period_id: Mapped[int | None] = mapped_column(ForeignKey("reporting_period.id"), nullable=True)
    period = relationship("ReportingPeriod")
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    key: Mapped[str] = mapped_column(String(120), unique=True)  # idempotency: one digest per student and day
    status: Mapped[NotificationStatus] = mapped_column(enum_column(NotificationStatus),
                                                       default=NotificationStatus.pending)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    channel: Mapped[str] = mapped_column(String(12), default="")  # portal | email, once sent
    failure: Mapped[str] = mapped_column(String(300), default="")

    def __repr__(self) -> str:
        return self.title
