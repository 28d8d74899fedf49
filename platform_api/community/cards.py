"""Cards: how lists show people, styles and images. Each is read with one query of plain columns (no ORM
objects to build per row) and mapped to its schema here, so every list shows the same fields."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

from sqlalchemy import Row, Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Artist, Generation, Like, Style, User
from platform_api.community.schemas import ArtistCard, GenerationCard, StyleArtist, StyleCard, UserCard
from platform_api.users.schemas import ImageUrl

_owner = aliased(User, name="owner")
A = TypeVar("A", bound=ArtistCard)


def user_card(user: User, image_url: ImageUrl) -> UserCard:
    return UserCard(id=user.id, username=user.username, profile_image_url=image_url(user.profile_image_key))


def _style_columns() -> tuple:
    return (
        Style.id.label("style_id"),
        Style.title.label("style_title"),
        Style.thumbnail_key.label("style_thumbnail_key"),
        Artist.user_id.label("artist_user_id"),
        Artist.artist_name,
    )


def style_cards() -> Select:
    return select(*_style_columns()).join(Artist, Artist.id == Style.artist_id)


def style_card(row: Row, image_url: ImageUrl) -> StyleCard:
    return StyleCard(
        id=row.style_id,
        title=row.style_title,
        thumbnail_url=image_url(row.style_thumbnail_key),
        artist=StyleArtist(id=row.artist_user_id, artist_name=row.artist_name),
    )


def artist_cards() -> Select:
    return select(
        User.id, User.username, User.profile_image_key, Artist.artist_name, Artist.follower_count
    ).join(Artist, Artist.user_id == User.id)


def artist_card(row: Row, image_url: ImageUrl, card: type[A] = ArtistCard, **extra) -> A:
    """An ArtistCard, or a schema that extends it with `extra` fields (when followed, how it matched)."""
    return card(
        id=row.id,
        username=row.username,
        profile_image_url=image_url(row.profile_image_key),
        artist_name=row.artist_name,
        follower_count=row.follower_count,
        **extra,
    )


def _generation_cards() -> Select:
    return (
        select(
            Generation.id,
            Generation.result_key,
            Generation.thumbnail_key,
            Generation.description,
            Generation.prompt_tags,
            Generation.aspect_ratio,
            Generation.width,
            Generation.height,
            Generation.is_public,
            Generation.like_count,
            Generation.comment_count,
            Generation.created_at,
            _owner.id.label("owner_id"),
            _owner.username.label("owner_username"),
            _owner.profile_image_key.label("owner_image_key"),
            *_style_columns(),
        )
        .join(_owner, _owner.id == Generation.user_id)
        .join(Style, Style.id == Generation.style_id)
        .join(Artist, Artist.id == Style.artist_id)
    )


# Built once: building a statement this size costs more than PostgreSQL takes to run it.
GENERATION_CARDS = _generation_cards()


async def liked_by(db: AsyncSession, viewer_id: int | None, generation_ids: Iterable[int]) -> set[int] | None:
    """Which of these images the viewer likes; None for an anonymous viewer."""
    if viewer_id is None:
        return None
    ids = list(generation_ids)
    if not ids:
        return set()
    return set(await db.scalars(
        select(Like.generation_id).where(Like.user_id == viewer_id, Like.generation_id.in_(ids))
    ))


def generation_card(row: Row, image_url: ImageUrl, liked: set[int] | None) -> GenerationCard:
    return GenerationCard(
        id=row.id,
        image_url=image_url(row.result_key),
        thumbnail_url=image_url(row.thumbnail_key),
        description=row.description,
        prompt_tags=row.prompt_tags,
        aspect_ratio=row.aspect_ratio,
        width=row.width,
        height=row.height,
        is_public=row.is_public,
        like_count=row.like_count,
        comment_count=row.comment_count,
        liked_by_me=None if liked is None else row.id in liked,
        owner=UserCard(id=row.owner_id, username=row.owner_username, profile_image_url=image_url(row.owner_image_key)),
        style=style_card(row, image_url),
        created_at=row.created_at,
    )
