"""Public and private views of an account. Public views never carry email, balance or keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, EmailStr, Field

from db.models import User
from platform_api.auth.accounts import USERNAME_PATTERN
from platform_api.envelope import InputModel, WriteModel

ImageUrl = Callable[[str | None], str | None]


class ArtistPublic(BaseModel):
    artist_name: str
    follower_count: int


class ArtistPrivate(ArtistPublic):
    verified_email: str
    earned_token_balance: int
    has_signature_image: bool


class UserPrivate(BaseModel):
    """The signed-in user's own account (`/auth/me`)."""

    id: int
    email: str
    username: str
    bio: str | None
    profile_image_url: str | None
    role: str
    token_balance: int
    preferred_language: str
    created_at: datetime
    artist: ArtistPrivate | None

    @classmethod
    def of(cls, user: User, image_url: ImageUrl) -> UserPrivate:
        artist = user.artist
        return cls(
            id=user.id,
            email=user.email,
            username=user.username,
            bio=user.bio,
            profile_image_url=image_url(user.profile_image_key),
            role=user.role,
            token_balance=user.token_balance,
            preferred_language=user.preferred_language,
            created_at=user.created_at,
            artist=ArtistPrivate(
                artist_name=artist.artist_name,
                follower_count=artist.follower_count,
                verified_email=artist.verified_email,
                earned_token_balance=artist.earned_token_balance,
                has_signature_image=artist.signature_image_key is not None,
            )
            if artist
            else None,
        )


class StyleSummary(BaseModel):
    id: int
    title: str
    training_status: str


class UserStats(BaseModel):
    public_generations: int
    followers: int
    following: int
    style: StyleSummary | None


class UserPublic(BaseModel):
    id: int
    username: str
    bio: str | None
    profile_image_url: str | None
    role: str
    created_at: datetime
    artist: ArtistPublic | None
    stats: UserStats
    # Whether the reader follows this artist; null for anonymous readers.
    followed_by_me: bool | None = None


class ProfileUpdate(WriteModel):
    username: str | None = Field(default=None, pattern=USERNAME_PATTERN)
    bio: str | None = Field(default=None, max_length=500)
    preferred_language: Literal["en", "ko"] | None = None


class ArtistUpgradeForm(InputModel):
    """The form fields beside the signature file (a form model cannot forbid extras: the file is one)."""

    artist_name: str = Field(min_length=1, max_length=50)
    verified_email: EmailStr
