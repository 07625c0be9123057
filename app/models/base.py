"""Shared model pieces: the school-ownership mixin and small enums."""
from enum import StrEnum

from flask_appbuilder import Model
from sqlalchemy import Enum, ForeignKey, Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

__all__ = ["Model", "SchoolOwned", "PeriodKind", "StrEnum", "enum_column"]


class PeriodKind(StrEnum):
    """Reporting-period schemes a class may follow, plus the year itself.

    Member names equal their values: FAB's enum form field looks members up by stored value.
    """

    quarter = "quarter"
    trimester = "trimester"
    half_year = "half_year"
    year = "year"


class SchoolOwned:
    """Every school-owned row names its school (SPEC §2)."""

    @declared_attr
    def school_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(Integer, ForeignKey("school.id"), nullable=False, index=True)

    @declared_attr
    def school(cls):  # noqa: N805
        return relationship("School")


def enum_column(cls, length: int = 20) -> Enum:
    """A portable enum column stored by value (VARCHAR, no native type)."""
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])
