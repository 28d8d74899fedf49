"""Schema `community`: follows, likes and comments (one level of replies)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from db.base import Base, CreatedAtMixin, IdMixin, TimestampsMixin


class Follow(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "follows"
    __table_args__ = (
        UniqueConstraint("follower_id", "following_id"),
        CheckConstraint("follower_id <> following_id", name="no_self_follow"),
        # "Artists I follow", newest first.
        Index("ix_follows_follower_id_created_at", "follower_id", "created_at"),
        {"schema": "community"},
    )

    follower_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"))
    # The followed artist's user id.
    following_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"), index=True
    )


class Like(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "likes"
    __table_args__ = (UniqueConstraint("user_id", "generation_id"), {"schema": "community"})

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"))
    generation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("generation.generations.id", ondelete="CASCADE"), index=True
    )


class Comment(IdMixin, TimestampsMixin, Base):
    __tablename__ = "comments"
    __table_args__ = (
        CheckConstraint("char_length(content) BETWEEN 1 AND 1000", name="content_length"),
        Index("ix_comments_generation_id_created_at", "generation_id", "created_at"),
        {"schema": "community"},
    )

    generation_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("generation.generations.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"), index=True)
    # One level only: the service refuses a reply to a reply (REPLY_DEPTH_EXCEEDED).
    parent_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("community.comments.id", ondelete="CASCADE"), index=True
    )
    content: Mapped[str] = mapped_column(Text)
    # A deleted comment with replies stays as a placeholder so the replies keep their place.
    is_deleted: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
