"""Who teaches what to whom, and how many hours the curriculum plans."""
from sqlalchemy import CheckConstraint, ForeignKey, Integer, Numeric, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, SchoolOwned

TARGET_COLUMNS = ("class_unit_id", "group_id", "stream_id", "plan_id")


class TeachingAssignment(SchoolOwned, Model):
    """Teacher × subject × exactly one target: class, group, stream or individual plan."""

    __tablename__ = "teaching_assignment"
    id: Mapped[int] = mapped_column(primary_key=True)
    year_id: Mapped[int] = mapped_column(ForeignKey("academic_year.id"), index=True)
    year = relationship("AcademicYear")
    teacher_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    teacher = relationship("Staff")
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"), index=True)
    subject = relationship("Subject")
    class_unit_id: Mapped[int | None] = mapped_column(ForeignKey("class_unit.id"), nullable=True, index=True)
    class_unit = relationship("ClassUnit")
    group_id: Mapped[int | None] = mapped_column(ForeignKey("study_group.id"), nullable=True, index=True)
    group = relationship("StudyGroup")
    stream_id: Mapped[int | None] = mapped_column(ForeignKey("stream.id"), nullable=True, index=True)
    stream = relationship("Stream")
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("individual_plan.id"), nullable=True, index=True)
    plan = relationship("IndividualPlan")
    weekly_hours: Mapped[float] = mapped_column(Numeric(4, 1), default=1)
    __table_args__ = (
        CheckConstraint(
            " + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in TARGET_COLUMNS) + " = 1",
            name="ck_assignment_one_target",
        ),
    )

    @property
    def target(self):
        """The one class, group, stream or individual plan taught."""
        return self.class_unit or self.group or self.stream or self.plan

    def __repr__(self) -> str:
        return f"{self.teacher} — {self.subject} — {self.target}"


class CurriculumItem(SchoolOwned, Model):
    """Учебный план: hours planned for a class × subject × reporting period."""

    __tablename__ = "curriculum_item"
    id: Mapped[int] = mapped_column(primary_key=True)
    class_unit_id: Mapped[int] = mapped_column(ForeignKey("class_unit.id"), index=True)
    class_unit = relationship("ClassUnit")
    subject_id: Mapped[int] = mapped_column(ForeignKey("subject.id"))
    subject = relationship("Subject")
    period_id: Mapped[int] = mapped_column(ForeignKey("reporting_period.id"), index=True)
    period = relationship("ReportingPeriod")
    weekly_hours: Mapped[float] = mapped_column(Numeric(4, 1))
    planned_hours: Mapped[int] = mapped_column(Integer)
    __table_args__ = (
        UniqueConstraint("class_unit_id", "subject_id", "period_id", name="uq_curriculum_item"),
    )

    def __repr__(self) -> str:
        return f"{self.class_unit} {self.subject} {self.period}: {self.planned_hours}"
