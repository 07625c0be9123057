"""The school, its calendar and its reference lists."""
import datetime as dt

from flask_babel import lazy_gettext as _l
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, PeriodKind, SchoolOwned

PERIOD_KIND_LABELS = {
    PeriodKind.quarter: _l("quarter"),
    PeriodKind.trimester: _l("trimester"),
    PeriodKind.half_year: _l("half-year"),
    PeriodKind.year: _l("year"),
}


class School(Model):
    """A general-education school; the deployment may hold several."""

    __tablename__ = "school"
    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(300))
    short_name: Mapped[str] = mapped_column(String(100), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    director: Mapped[str] = mapped_column(String(150), default="")
    study_days_per_week: Mapped[int] = mapped_column(Integer, default=5)
    __table_args__ = (CheckConstraint("study_days_per_week IN (5, 6)", name="ck_school_week"),)

    def __repr__(self) -> str:
        return self.short_name


class AcademicYear(SchoolOwned, Model):
    """Учебный год: 1 September to 31 August by default."""

    __tablename__ = "academic_year"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # once the next year is built
    __table_args__ = (UniqueConstraint("school_id", "name", name="uq_year_name"),)

    def contains(self, day: dt.date) -> bool:
        """Whether the day falls inside the year."""
        return self.start <= day <= self.end

    def __repr__(self) -> str:
        return self.name


class ReportingPeriod(SchoolOwned, Model):
    """Отчётный период: a quarter, trimester, half-year or the year itself."""

    __tablename__ = "reporting_period"
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("academic_year.id"), index=True)
    year = relationship("AcademicYear")
    kind: Mapped[PeriodKind] = mapped_column(
        Enum(PeriodKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])
    )
    number: Mapped[int] = mapped_column(Integer, default=1)
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (UniqueConstraint("year_id", "kind", "number", name="uq_period_number"),)

    @property
    def title(self) -> str:
        """Human name, e.g. «2 четверть 2026/2027»."""
        if self.kind == PeriodKind.year:
            return f"{PERIOD_KIND_LABELS[self.kind]} {self.year}"
        return f"{self.number} {PERIOD_KIND_LABELS[self.kind]} {self.year}"

    def __repr__(self) -> str:
        return self.title


class Holiday(SchoolOwned, Model):
    """Каникулы: school-wide, or only for one grade (extra holidays of first graders)."""

    __tablename__ = "holiday"
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("academic_year.id"), index=True)
    year = relationship("AcademicYear")
    name: Mapped[str] = mapped_column(String(100))
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    grade: Mapped[int | None] = mapped_column(Integer, nullable=True)

    def applies_to(self, grade: int) -> bool:
        """Whether the holiday frees pupils of this grade."""
        return self.grade is None or self.grade == grade

    def __repr__(self) -> str:
        return self.name


class BellSlot(SchoolOwned, Model):
    """Звонок: lesson number with its start and end time."""

    __tablename__ = "bell_slot"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int] = mapped_column(Integer)
    start_time: Mapped[str] = mapped_column(String(5))  # "08:30": FAB has no Time fields
    end_time: Mapped[str] = mapped_column(String(5))
    __table_args__ = (UniqueConstraint("school_id", "number", name="uq_bell_number"),)

    def __repr__(self) -> str:
        return f"{self.number}. {self.start_time}–{self.end_time}"


class Subject(SchoolOwned, Model):
    """Учебный предмет; pass/fail subjects get зачёт/незачёт finals."""

    __tablename__ = "subject"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    short_name: Mapped[str] = mapped_column(String(30), default="")
    pass_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    __table_args__ = (UniqueConstraint("school_id", "name", name="uq_subject_name"),)

    def __repr__(self) -> str:
        return self.name


class WorkType(SchoolOwned, Model):
    """Вид работы with its weight in the weighted average (1–10)."""

    __tablename__ = "work_type"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    weight: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (
        UniqueConstraint("school_id", "name", name="uq_work_type_name"),
        CheckConstraint("weight BETWEEN 1 AND 10", name="ck_work_type_weight"),
    )

    def __repr__(self) -> str:
        return f"{self.name} ({self.weight})"


class PeriodStatusChange(SchoolOwned, Model):
    """History of closing and reopening a reporting period: who, when and why (audited)."""

    __tablename__ = "period_status_change"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    period_id: Mapped[int] = mapped_column(ForeignKey("reporting_period.id", ondelete="CASCADE"), index=True)
    period = relationship("ReportingPeriod")
    action: Mapped[str] = mapped_column(String(10))  # closed | reopened
    reason: Mapped[str] = mapped_column(String(500), default="")
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime)

    def __repr__(self) -> str:
        return f"{self.period}: {self.action} {self.changed_at:%d.%m.%Y %H:%M}"
