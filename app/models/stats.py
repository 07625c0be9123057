"""The tokens of the statistics' data: one row per school, renewed by database triggers on every write to a
table the results read in that school (migration 0017_stats_cache), so cached results are keyed by what
the school's data is now."""
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model


class StatsVersion(Model):
    """A school's random token, new after every statement that changes what its results read; random, not a
    counter, because a rolled-back n+1 would come back with other data (app.services.stats_cache). No foreign
    key: the triggers write it, and a school's deletion or a test's truncation of the schools is not held up
    by it (a leftover row is renewed by the next school of that id, on its insertion)."""

    __tablename__ = "stats_version"
    school_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    token: Mapped[str] = mapped_column(String(36))
