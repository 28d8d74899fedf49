"""Schema `system`: notifications and stored idempotent responses."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin, enum_check

NOTIFICATION_TYPES = (
    "follow",
    "like",
    "comment",
    "generation_complete",
    "generation_failed",
    "style_training_complete",
    "style_training_failed",
)


class Notification(IdMixin, CreatedAtMixin, Base):
    """Stored as type + data; the text is rendered in the reader's language when listed."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(enum_check("type", NOTIFICATION_TYPES), name="type"),
        Index("ix_notifications_recipient_id_created_at", "recipient_id", "created_at"),
        Index("ix_notifications_unread", "recipient_id", postgresql_where=text("NOT is_read")),
        {"schema": "system"},
    )

    recipient_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"))
    actor_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("auth.users.id", ondelete="SET NULL"), index=True
    )
    type: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    is_read: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyKey(IdMixin, CreatedAtMixin, Base):
    """The first response to a request carrying an Idempotency-Key, replayed to its retries for 24 h."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        CheckConstraint("char_length(key) BETWEEN 1 AND 255", name="key_length"),
        Index("uq_idempotency_keys_user_scope_key", "user_id", "scope", "key", unique=True),
        {"schema": "system"},
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[dict | None] = mapped_column(JSONB)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
