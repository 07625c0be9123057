"""People: staff, students, their legal representatives."""
import datetime as dt

from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Date, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Model, SchoolOwned


def full_name(surname: str, name: str, patronymic: str) -> str:
    """«Иванов Иван Иванович» (a page that reads names as columns, not objects, words them here too)."""
    return " ".join(p for p in (surname, name, patronymic) if p)


def short_name(surname: str, name: str, patronymic: str) -> str:
    """«Иванов И. И.»."""
    initials = " ".join(f"{p[0]}." for p in (name, patronymic) if p)
    return f"{surname} {initials}".strip()


class PersonName:
    """Surname, name, patronymic, as Russian documents write them."""

    surname: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(80))
    patronymic: Mapped[str] = mapped_column(String(80), default="")

    @property
    def full_name(self) -> str:
        """«Иванов Иван Иванович»."""
        return full_name(self.surname, self.name, self.patronymic)

    @property
    def short_name(self) -> str:
        """«Иванов И. И.»."""
        return short_name(self.surname, self.name, self.patronymic)

    def __repr__(self) -> str:
        return self.full_name


class Staff(PersonName, SchoolOwned, Model):
    """A teacher or member of the administration; linked to a login user."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(primary_key=True)
    position: Mapped[str] = mapped_column(String(120), default="")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("ab_user.id"), unique=True, nullable=True)
    user = relationship(User)


class Student(PersonName, SchoolOwned, Model):
    """Обучающийся; `class_unit` is the current class, `enrolments` the history."""

    __tablename__ = "student"
    id: Mapped[int] = mapped_column(primary_key=True)
    file_number: Mapped[str | None] = mapped_column(String(30), nullable=True)
    birth_date: Mapped[dt.date] = mapped_column(Date)
    class_unit_id: Mapped[int | None] = mapped_column(
        ForeignKey("class_unit.id"), nullable=True, index=True
    )
    class_unit = relationship("ClassUnit", foreign_keys=[class_unit_id])
    enrolled_on: Mapped[dt.date] = mapped_column(Date)
    left_on: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    enrolments = relationship(
        "Enrolment", back_populates="student", order_by="Enrolment.start",
        cascade="all, delete-orphan",
    )
    guardians = relationship("StudentGuardian", back_populates="student", cascade="all, delete-orphan")
    __table_args__ = (UniqueConstraint("school_id", "file_number", name="uq_student_file"),)


class Guardian(PersonName, SchoolOwned, Model):
    """Законный представитель: parent, adoptive parent, guardian or trustee."""

    __tablename__ = "guardian"
    id: Mapped[int] = mapped_column(primary_key=True)
    birth_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    identity_document: Mapped[str] = mapped_column(String(200), default="")
    children = relationship("StudentGuardian", back_populates="guardian", cascade="all, delete-orphan")


class StudentGuardian(SchoolOwned, Model):
    """Who represents whom, and on what basis of authority (152-ФЗ ст.9 ч.4)."""

    __tablename__ = "student_guardian"
    __audited__ = True
    id: Mapped[int] = mapped_column(primary_key=True)
    student_id: Mapped[int] = mapped_column(ForeignKey("student.id"), index=True)
    student = relationship("Student", back_populates="guardians")
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardian.id"), index=True)
    guardian = relationship("Guardian", back_populates="children")
    relation: Mapped[str] = mapped_column(String(40))
    authority_basis: Mapped[str] = mapped_column(String(300), default="")
    __table_args__ = (UniqueConstraint("student_id", "guardian_id", name="uq_student_guardian"),)

    def __repr__(self) -> str:
        return f"{self.guardian} — {self.student}"


