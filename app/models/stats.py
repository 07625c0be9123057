"""The token of the statistics' data: one row, renewed by database triggers on every write to a table the
results read (migration 0016_h1_stats_cache), so cached results are keyed by what the data is now."""
from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model


class StatsVersion(Model):
    """One row (id 1): a random token, new after every statement that changes what the results read; random,
    not a counter, because a rolled-back n+1 would come back with other data (app.services.stats_cache)."""

    __tablename__ = "stats_version"
    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(36))
