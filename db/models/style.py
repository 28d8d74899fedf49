"""Schema `style`: styles (a fine-tuned LoRA), their training images and training runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin, TimestampsMixin, enum_check, trigram_index

TRAINING_STATUSES = ("pending", "training", "completed", "failed")
RUN_STATUSES = ("pending", "submitted", "running", "succeeded", "failed", "cancelled")


class Style(IdMixin, TimestampsMixin, Base):
    __tablename__ = "styles"
    __table_args__ = (
        CheckConstraint("generation_cost_tokens BETWEEN 1 AND 10000", name="generation_cost_tokens_range"),
        CheckConstraint(enum_check("training_status", TRAINING_STATUSES), name="training_status"),
        CheckConstraint("generation_count >= 0", name="generation_count_not_negative"),
        CheckConstraint("char_length(title) BETWEEN 1 AND 100", name="title_length"),
        Index("ix_styles_created_at", "created_at"),
        Index("ix_styles_generation_count_created_at", "generation_count", "created_at"),
        trigram_index("ix_styles_title_trgm", "title"),
        {"schema": "style"},
    )

    artist_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.artists.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, server_default="")
    generation_cost_tokens: Mapped[int] = mapped_column(Integer)
    training_status: Mapped[str] = mapped_column(String(16), server_default="pending", index=True)
    # The lowercase title, added to every training caption and every prompt.
    trigger_tag: Mapped[str] = mapped_column(String(100))
    thumbnail_key: Mapped[str | None] = mapped_column(String(512))
    adapter_key: Mapped[str | None] = mapped_column(String(512))
    # Cache for sort=popular, counted by the generation service.
    generation_count: Mapped[int] = mapped_column(Integer, server_default="0")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    trained_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Artwork(IdMixin, CreatedAtMixin, Base):
    """One training image of a style, stored privately; immutable once uploaded."""

    __tablename__ = "artworks"
    __table_args__ = {"schema": "style"}

    style_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("style.styles.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    image_key: Mapped[str] = mapped_column(String(512))
    thumbnail_key: Mapped[str | None] = mapped_column(String(512))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    is_valid: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))


class TrainingRun(IdMixin, TimestampsMixin, Base):
    """One attempt to train a style's LoRA as a Ray job; `submission_id` makes resubmits idempotent."""

    __tablename__ = "training_runs"
    __table_args__ = (
        CheckConstraint(enum_check("status", RUN_STATUSES), name="status"),
        {"schema": "style"},
    )

    style_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("style.styles.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer, server_default="1")
    status: Mapped[str] = mapped_column(String(16), server_default="pending", index=True)
    submission_id: Mapped[str] = mapped_column(String(128), unique=True)
    progress: Mapped[dict | None] = mapped_column(JSONB)
    manifest: Mapped[dict | None] = mapped_column(JSONB)
    error_message: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
