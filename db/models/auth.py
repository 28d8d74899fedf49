"""Schema `auth`: accounts, artist profiles, sign-in sessions and API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, ForeignKey, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from db.base import Base, CreatedAtMixin, IdMixin, TimestampsMixin, enum_check, trigram_index

USER_ROLES = ("user", "artist", "admin")
LANGUAGES = ("en", "ko")


class User(IdMixin, TimestampsMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("token_balance >= 0", name="token_balance_not_negative"),
        CheckConstraint(enum_check("role", USER_ROLES), name="role"),
        CheckConstraint(enum_check("preferred_language", LANGUAGES), name="preferred_language"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("char_length(username) BETWEEN 3 AND 30", name="username_length"),
        trigram_index("ix_users_username_trgm", "username"),
        {"schema": "auth"},
    )

    google_sub: Mapped[str | None] = mapped_column(String(255), unique=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    username: Mapped[str] = mapped_column(String(30), unique=True)
    bio: Mapped[str | None] = mapped_column(Text)
    profile_image_key: Mapped[str | None] = mapped_column(String(512))
    role: Mapped[str] = mapped_column(String(16), server_default="user")
    # A cache of the user's ledger rows, written only by the ledger in the same transaction.
    token_balance: Mapped[int] = mapped_column(Integer, server_default="0")
    preferred_language: Mapped[str] = mapped_column(String(2), server_default="en")
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deactivated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    artist: Mapped[Artist | None] = relationship(back_populates="user", lazy="raise_on_sql", uselist=False)


class Artist(IdMixin, TimestampsMixin, Base):
    __tablename__ = "artists"
    __table_args__ = (
        CheckConstraint("earned_token_balance >= 0", name="earned_token_balance_not_negative"),
        CheckConstraint("follower_count >= 0", name="follower_count_not_negative"),
        CheckConstraint("char_length(artist_name) BETWEEN 1 AND 50", name="artist_name_length"),
        trigram_index("ix_artists_artist_name_trgm", "artist_name"),
        {"schema": "auth"},
    )

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"), unique=True
    )
    artist_name: Mapped[str] = mapped_column(String(50))
    verified_email: Mapped[str] = mapped_column(String(320))
    signature_image_key: Mapped[str | None] = mapped_column(String(512))
    earned_token_balance: Mapped[int] = mapped_column(Integer, server_default="0")
    follower_count: Mapped[int] = mapped_column(Integer, server_default="0")

    user: Mapped[User] = relationship(back_populates="artist", lazy="raise_on_sql")


class Session(IdMixin, CreatedAtMixin, Base):
    """A server-side sign-in session; the cookie holds a random token, the table only its hash."""

    __tablename__ = "sessions"
    __table_args__ = {"schema": "auth"}

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))


class ApiKey(IdMixin, CreatedAtMixin, Base):
    """A key for batch scripts; the secret is shown once and stored only as a hash."""

    __tablename__ = "api_keys"
    __table_args__ = {"schema": "auth"}

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("auth.users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
