"""How students are taught together: classes, groups, streams, individual plans."""
import datetime as dt

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, PeriodKind, SchoolOwned

study_group_student = Table(
    "study_group_student",
    Model.metadata,
    Column("group_id", ForeignKey("study_group.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", ForeignKey("student.id", ondelete="CASCADE"), primary_key=True, index=True),
)

stream_student = Table(
    "stream_student",
    Model.metadata,
    Column("stream_id", ForeignKey("stream.id", ondelete="CASCADE"), primary_key=True),
    Column("student_id", ForeignKey("student.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ClassUnit(SchoolOwned, Model):
    """Класс of a year: grade 1–11 and a letter, its class teacher and period scheme."""

    __tablename__ = "class_unit"
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("academic_year.id"), index=True)
    year = relationship("AcademicYear")
    grade: Mapped[int] = mapped_column(Integer)
    letter: Mapped[str] = mapped_column(String(4))
    class_teacher_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True, index=True)
    class_teacher = relationship("Staff")
    period_kind: Mapped[PeriodKind] = mapped_column(
        Enum(PeriodKind, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e]),
        default=PeriodKind.quarter,
    )
    __table_args__ = (
        UniqueConstraint("year_id", "grade", "letter", name="uq_class_name"),
        CheckConstraint("grade BETWEEN 1 AND 11", name="ck_class_grade"),
    )

    @property
    def name(self) -> str:
        """«5А»."""
        return f"{self.grade}{self.letter}"

    @property
    def level(self) -> str:
        """Level of general education: primary 1–4, basic 5–9, secondary 10–11."""
        return "primary" if self.grade <= 4 else "basic" if self.grade <= 9 else "secondary"

    def __repr__(self) -> str:
        return self.name


class Enrolment(SchoolOwned, Model):
    """A student's membership of a class for a span of days; one class at a time."""

    __tablename__ = "enrolment"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id", ondelete="CASCADE"), index=True)
    student = relationship("Student", back_populates="enrolments")
    class_unit_id: Mapped[int] = mapped_column(ForeignKey("class_unit.id"), index=True)
    class_unit = relationship("ClassUnit")
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)

    def covers(self, day: dt.date) -> bool:
        """Whether the student was in the class on that day."""
        return self.start <= day and (self.end is None or day <= self.end)

    def __repr__(self) -> str:
        return f"{self.student} — {self.class_unit}"


class StudyGroup(SchoolOwned, Model):
    """Подгруппа of a class for a subject (foreign languages, technology)."""

    __tablename__ = "study_group"
    id: Mapped[int] = mapped_column(primary_key=True)
    class_unit_id: Mapped[int] = mapped_column(ForeignKey("class_unit.id"), index=True)
    class_unit = relationship("ClassUnit")
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), nullable=True)
    subject = relationship("Subject")
    name: Mapped[str] = mapped_column(String(60))
    students = relationship("Student", secondary=study_group_student, order_by="Student.surname")
    __table_args__ = (UniqueConstraint("class_unit_id", "name", name="uq_group_name"),)

    def __repr__(self) -> str:
        return f"{self.class_unit} {self.name}"


class Stream(SchoolOwned, Model):
    """Учебный поток: students of several classes taught together."""

    __tablename__ = "stream"
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("academic_year.id"), index=True)
    year = relationship("AcademicYear")
    name: Mapped[str] = mapped_column(String(100))
    students = relationship("Student", secondary=stream_student, order_by="Student.surname")
    __table_args__ = (UniqueConstraint("year_id", "name", name="uq_stream_name"),)

    def __repr__(self) -> str:
        return self.name


class IndividualPlan(SchoolOwned, Model):
    """A student taught a subject individually for a year."""

    __tablename__ = "individual_plan"
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    subject = relationship("Subject")
    year_id: Mapped[int] = mapped_column(ForeignKey("academic_year.id"), index=True)
    year = relationship("AcademicYear")
    reason: Mapped[str] = mapped_column(String(300), default="")
    __table_args__ = (UniqueConstraint("student_id", "subject_id", "year_id", name="uq_individual_plan"),)

    def __repr__(self) -> str:
        return f"{self.student} — {self.subject}"
