"""The journal: timetable, lessons and their changes, control-work plan, marks, attendance, advice."""
import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, SchoolOwned, enum_column


class LessonType(StrEnum):
    """Тип урока (names equal values for FAB's enum fields)."""

    regular = "regular"
    control_work = "control_work"
    test = "test"
    laboratory = "laboratory"
    practical = "practical"
    excursion = "excursion"
    exam = "exam"


class LessonStatus(StrEnum):
    """A lesson is planned until held, or cancelled."""

    planned = "planned"
    held = "held"
    cancelled = "cancelled"


class ChangeKind(StrEnum):
    """Замена, перенос, отмена."""

    substitution = "substitution"
    rescheduling = "rescheduling"
    cancellation = "cancellation"


class AttendanceCode(StrEnum):
    """Н absent, Б ill, УП excused, ОП late."""

    absent = "Н"
    ill = "Б"
    excused = "УП"
    late = "ОП"

    @property
    def missed(self) -> bool:
        """A missed lesson (Н, Б, УП), as reports count it; a late arrival is not one."""
        return self is not AttendanceCode.late


MISSED_CODES = tuple(code for code in AttendanceCode if code.missed)
# What a teacher types into a journal cell for each code: the code in lower case, and a one-letter code on the
# Latin keyboard layout too (the grid's script reads this map from the page).
ATTENDANCE_KEYS = {**{code.value.lower(): code.value for code in AttendanceCode},
                   "n": AttendanceCode.absent.value, "b": AttendanceCode.ill.value}


class TimetableEntry(SchoolOwned, Model):
    """Расписание: an assignment's lesson on a weekday in a bell slot, valid for a span of dates."""

    __tablename__ = "timetable_entry"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("teaching_assignment.id"), index=True)
    assignment = relationship("TeachingAssignment")
    weekday: Mapped[int] = mapped_column(SmallInteger)  # 0 = Monday
    bell_slot_id: Mapped[int] = mapped_column(ForeignKey("bell_slot.id"))
    bell_slot = relationship("BellSlot")
    room: Mapped[str] = mapped_column(String(20), default="")
    valid_from: Mapped[dt.date] = mapped_column(Date)
    valid_to: Mapped[dt.date] = mapped_column(Date)

    def __repr__(self) -> str:
        return f"{self.assignment} — {self.weekday + 1}/{self.bell_slot}"


class Lesson(SchoolOwned, Model):
    """Урок: an assignment's lesson on a date; `teacher` is who actually teaches it."""

    __tablename__ = "lesson"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("teaching_assignment.id"), index=True)
    assignment = relationship("TeachingAssignment")
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    bell_slot_id: Mapped[int] = mapped_column(ForeignKey("bell_slot.id"))
    bell_slot = relationship("BellSlot")
    teacher_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    teacher = relationship("Staff")
    timetable_entry_id: Mapped[int | None] = mapped_column(ForeignKey("timetable_entry.id"), nullable=True)
    room: Mapped[str] = mapped_column(String(20), default="")
    topic: Mapped[str] = mapped_column(String(300), default="")
    lesson_type: Mapped[LessonType] = mapped_column(enum_column(LessonType), default=LessonType.regular)
    status: Mapped[LessonStatus] = mapped_column(enum_column(LessonStatus), default=LessonStatus.planned)
    homework: Mapped[str] = mapped_column(Text, default="")
    homework_due: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    __table_args__ = (UniqueConstraint("assignment_id", "date", "bell_slot_id", name="uq_lesson_slot"),)

    def __repr__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.assignment.subject} ({self.assignment.target})"


class LessonChange(SchoolOwned, Model):
    """A substitution, rescheduling or cancellation: who changed what, when and why."""

    __tablename__ = "lesson_change"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id", ondelete="CASCADE"), index=True)
    lesson = relationship("Lesson")
    kind: Mapped[ChangeKind] = mapped_column(enum_column(ChangeKind))
    old_teacher_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    old_teacher = relationship("Staff", foreign_keys=[old_teacher_id])
    new_teacher_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), nullable=True)
    new_teacher = relationship("Staff", foreign_keys=[new_teacher_id])
    old_date: Mapped[dt.date] = mapped_column(Date)
    new_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    old_slot_id: Mapped[int | None] = mapped_column(ForeignKey("bell_slot.id"), nullable=True)
    new_slot_id: Mapped[int | None] = mapped_column(ForeignKey("bell_slot.id"), nullable=True)
    new_slot = relationship("BellSlot", foreign_keys=[new_slot_id])
    reason: Mapped[str] = mapped_column(String(300))
    changed_by: Mapped[str] = mapped_column(String(100))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())

    def __repr__(self) -> str:
        return f"{self.kind}: {self.lesson}"


class ControlWorkPlan(SchoolOwned, Model):
    """A control work planned for an assignment's class (group, stream) on a date."""

    __tablename__ = "control_work_plan"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("teaching_assignment.id"), index=True)
    assignment = relationship("TeachingAssignment")
    date: Mapped[dt.date] = mapped_column(Date, index=True)
    kind: Mapped[LessonType] = mapped_column(enum_column(LessonType), default=LessonType.control_work)
    topic: Mapped[str] = mapped_column(String(300), default="")

    def __repr__(self) -> str:
        return f"{self.date:%d.%m.%Y} {self.assignment.subject}: {self.topic}"


class Mark(SchoolOwned, Model):
    """Отметка 1–5 for a student in a lesson, at most one per work type; versioned."""

    __tablename__ = "mark"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    lesson = relationship("Lesson")
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    work_type_id: Mapped[int] = mapped_column(ForeignKey("work_type.id"))
    work_type = relationship("WorkType")
    value: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str] = mapped_column(String(300), default="")
    author: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now())
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (UniqueConstraint("lesson_id", "student_id", "work_type_id", name="uq_mark"),)
    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}  # UPDATE … RETURNING updated_at

    def __repr__(self) -> str:
        return f"{self.value} ({self.work_type.name if self.work_type else ''})"


class Attendance(SchoolOwned, Model):
    """Посещаемость: one code per student per lesson; versioned."""

    __tablename__ = "attendance"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lesson.id"), index=True)
    lesson = relationship("Lesson")
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    code: Mapped[AttendanceCode] = mapped_column(enum_column(AttendanceCode))
    author: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, server_default=func.now(), onupdate=func.now())
    version: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (UniqueConstraint("lesson_id", "student_id", name="uq_attendance"),)
    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}  # UPDATE … RETURNING updated_at

    def __repr__(self) -> str:
        return str(self.code.value if self.code else "")


class Recommendation(SchoolOwned, Model):
    """A teacher's recommendation to a student, optionally about a subject."""

    __tablename__ = "recommendation"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    teacher = relationship("Staff")
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student")
    subject_id: Mapped[int | None] = mapped_column(ForeignKey("subject.id"), nullable=True)
    subject = relationship("Subject")
    text: Mapped[str] = mapped_column(Text)
    date: Mapped[dt.date] = mapped_column(Date)

    def __repr__(self) -> str:
        return f"{self.student}: {self.text[:40]}"
