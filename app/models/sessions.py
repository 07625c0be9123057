"""Session epochs: logout, a password change or deactivation ends every session and token of a user."""
import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, func
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Model


class SessionEpoch(Model):
    """The current epoch of a user's sign-ins. Session cookies and JWTs carry the epoch they were issued
    under; bumping it makes every older one anonymous (no row: epoch 0)."""

    __tablename__ = "session_epoch"
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), primary_key=True)
    epoch: Mapped[int] = mapped_column(Integer, nullable=False, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, nullable=False, server_default=func.now(),
                                                    onupdate=func.now())
