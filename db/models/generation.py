"""Schema `generation`: image generation requests and their signed results."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, IdMixin, TimestampsMixin, enum_check

GENERATION_STATUSES = ("queued", "processing", "retrying", "completed", "failed")
ASPECT_RATIOS = ("1:1", "2:2", "1:2")


class Generation(IdMixin, TimestampsMixin, Base):
    __tablename__ = "generations"
    __table_args__ = (
        CheckConstraint(enum_check("status", GENERATION_STATUSES), name="status"),
        CheckConstraint(enum_check("aspect_ratio", ASPECT_RATIOS), name="aspect_ratio"),
        CheckConstraint("cost_tokens > 0", name="cost_tokens_positive"),
        CheckConstraint("like_count >= 0", name="like_count_not_negative"),
        CheckConstraint("comment_count >= 0", name="comment_count_not_negative"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_generations_user_id_created_at", "user_id", "created_at"),
        # The public feed: newest completed public generations.
        Index(
            "ix_generations_public_feed",
            "created_at",
            "id",
            postgresql_where=text("is_public AND status = 'completed'"),
        ),
        # The reconciler: unfinished work ordered by when it may run next.
        Index(
            "ix_generations_unfinished",
            "next_attempt_at",
            postgresql_where=text("status IN ('queued', 'processing', 'retrying')"),
        ),
        {"schema": "generation"},
    )

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"))
    # RESTRICT: a style that has generations can never be deleted (provenance of every image).
    style_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("style.styles.id", ondelete="RESTRICT"), index=True)
    status: Mapped[str] = mapped_column(String(16), server_default="queued")
    prompt_tags: Mapped[list[str]] = mapped_column(ARRAY(String(100)))
    prompt: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    aspect_ratio: Mapped[str] = mapped_column(String(8))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int] = mapped_column(BigInteger)
    cost_tokens: Mapped[int] = mapped_column(Integer)
    # The style's adapter (its chosen epoch) when the generation was requested: what draws it, retries included.
    adapter_key: Mapped[str | None] = mapped_column(String(512))
    is_public: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    result_key: Mapped[str | None] = mapped_column(String(512))
    thumbnail_key: Mapped[str | None] = mapped_column(String(512))
    progress: Mapped[dict | None] = mapped_column(JSONB)
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    like_count: Mapped[int] = mapped_column(Integer, server_default="0")
    comment_count: Mapped[int] = mapped_column(Integer, server_default="0")
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
