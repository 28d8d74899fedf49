"""What the community endpoints read and write: cards of people, styles and images, likes, follows, comments."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field

from platform_api.envelope import MAX_ID, WriteModel

COMMENT_MAX_CHARS = 1000
# Line breaks and tabs are text; every other control character (NUL included) is refused.
_TEXT_CONTROLS = {"\n", "\r", "\t"}


def _plain_text(value: str) -> str:
    if any(unicodedata.category(ch) == "Cc" and ch not in _TEXT_CONTROLS for ch in value):
        raise ValueError("control characters are not allowed")
    return value


PlainText = Annotated[str, Field(min_length=1, max_length=COMMENT_MAX_CHARS), AfterValidator(_plain_text)]


class UserCard(BaseModel):
    id: int
    username: str
    profile_image_url: str | None


class ArtistCard(UserCard):
    """An artist as lists show them; `id` is the artist's user id (the one `/users/{id}/follow` takes)."""

    artist_name: str
    follower_count: int


class FollowedArtist(ArtistCard):
    followed_at: datetime


class StyleArtist(BaseModel):
    id: int
    artist_name: str


class StyleCard(BaseModel):
    id: int
    title: str
    thumbnail_url: str | None
    artist: StyleArtist


class GenerationCard(BaseModel):
    """A generated image as feeds show it. `liked_by_me` is null for anonymous readers."""

    id: int
    image_url: str | None
    thumbnail_url: str | None
    description: str | None
    prompt_tags: list[str]
    aspect_ratio: str
    width: int
    height: int
    is_public: bool
    like_count: int
    comment_count: int
    liked_by_me: bool | None
    owner: UserCard
    style: StyleCard
    created_at: datetime


class FollowingFeedItem(BaseModel):
    """A new image in the style of, or by, an artist I follow; or a style one of them finished training."""

    kind: Literal["generation", "style"]
    at: datetime
    generation: GenerationCard | None = None
    style: StyleCard | None = None


class LikeState(BaseModel):
    generation_id: int
    liked: bool
    like_count: int


class FollowState(BaseModel):
    user_id: int
    following: bool
    follower_count: int


class CommentCreate(WriteModel):
    """Plain text: stored and returned exactly as written, never interpreted as HTML."""

    content: PlainText
    parent_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="the comment this one replies to")


class CommentEdit(WriteModel):
    content: PlainText


class CommentOut(BaseModel):
    """A deleted comment that still has replies keeps its place with no content and no author."""

    id: int
    generation_id: int
    parent_id: int | None
    content: str | None
    author: UserCard | None
    is_deleted: bool
    is_edited: bool
    created_at: datetime
    updated_at: datetime
    replies: list[CommentOut] | None = Field(default=None, description="replies, oldest first (top-level only)")
