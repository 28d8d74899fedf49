"""Accounts: public profiles, profile edits, becoming an artist, and leaving (spec §10.1)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.models import Artist, Artwork, Follow, Generation, Style, User
from platform_api import errors
from platform_api.auth import api_keys, sessions
from platform_api.community import service as community
from platform_api.errors import ApiError
from platform_api.users.schemas import ArtistPublic, ImageUrl, ProfileUpdate, StyleSummary, UserPublic, UserStats


async def active_user(db: AsyncSession, user_id: int) -> User:
    user = await db.scalar(
        select(User).options(selectinload(User.artist)).where(User.id == user_id, User.is_active)
    )
    if user is None:
        raise ApiError(errors.NOT_FOUND)
    return user


async def public_profile(db: AsyncSession, user_id: int, image_url: ImageUrl, viewer_id: int | None) -> UserPublic:
    user = await active_user(db, user_id)
    followed = None if viewer_id is None else bool(await db.scalar(select(exists().where(
        Follow.follower_id == viewer_id, Follow.following_id == user.id))))
    public_generations = await db.scalar(
        select(func.count()).where(
            Generation.user_id == user.id, Generation.is_public, Generation.status == "completed"
        )
    )
    following = await db.scalar(select(func.count()).where(Follow.follower_id == user.id))
    style = None
    if user.artist is not None:
        style = await db.scalar(
            select(Style).where(Style.artist_id == user.artist.id, Style.is_active).order_by(Style.id).limit(1)
        )
    return UserPublic(
        id=user.id,
        username=user.username,
        bio=user.bio,
        profile_image_url=image_url(user.profile_image_key),
        role=user.role,
        created_at=user.created_at,
        artist=ArtistPublic(artist_name=user.artist.artist_name, follower_count=user.artist.follower_count)
        if user.artist
        else None,
        stats=UserStats(
            public_generations=public_generations,
            followers=user.artist.follower_count if user.artist else 0,
            following=following,
            style=StyleSummary(id=style.id, title=style.title, training_status=style.training_status)
            if style
            else None,
        ),
        followed_by_me=followed,
    )


async def update_profile(db: AsyncSession, user: User, changes: ProfileUpdate) -> User:
    # Only bio can be cleared; a null username or language means "leave as is".
    values = {k: v for k, v in changes.model_dump(exclude_unset=True).items() if v is not None or k == "bio"}
    for field, value in values.items():
        setattr(user, field, value)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:
        raise ApiError(errors.USERNAME_TAKEN, details={"username": values.get("username")}) from None
    return user


def replace_profile_image(user: User, key: str | None) -> str | None:
    """Point the profile at `key`; returns the key of the image it replaced (to delete after commit)."""
    previous, user.profile_image_key = user.profile_image_key, key
    return previous


async def become_artist(db: AsyncSession, user: User, *, artist_name: str, verified_email: str, signature_key: str) -> User:
    if user.artist is not None:
        raise ApiError(errors.ALREADY_ARTIST)
    user.artist = Artist(
        artist_name=artist_name, verified_email=verified_email.lower(), signature_image_key=signature_key
    )
    if user.role == "user":
        user.role = "artist"
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError:  # a concurrent upgrade won
        raise ApiError(errors.ALREADY_ARTIST) from None
    return user


async def leave(db: AsyncSession, user: User) -> tuple[str, list[str]]:
    """Delete the account, or deactivate it when its style has generations (their provenance must stay).

    Returns what happened ("deleted" | "deactivated") and the stored objects that are no longer needed.
    """
    await sessions.end_all_sessions(db, user.id)
    await api_keys.revoke_all_keys(db, user.id)
    await community.forget_user(db, user.id)
    if user.artist is not None and await _style_has_generations(db, user.artist.id):
        user.is_active = False
        user.deactivated_at = datetime.now(UTC)
        return "deactivated", []
    orphaned = [user.profile_image_key]
    if user.artist is not None:
        orphaned.append(user.artist.signature_image_key)
        orphaned += await _style_object_keys(db, user.artist.id)
    await db.execute(delete(User).where(User.id == user.id))
    return "deleted", [key for key in orphaned if key]


async def _style_object_keys(db: AsyncSession, artist_id: int) -> list[str | None]:
    styles = (await db.execute(select(Style.adapter_key, Style.thumbnail_key).where(Style.artist_id == artist_id))).all()
    artworks = (
        await db.execute(
            select(Artwork.image_key, Artwork.thumbnail_key).join(Style).where(Style.artist_id == artist_id)
        )
    ).all()
    return [key for row in (*styles, *artworks) for key in row]


async def _style_has_generations(db: AsyncSession, artist_id: int) -> bool:
    return bool(
        await db.scalar(
            select(
                exists().where(Generation.style_id == Style.id, Style.artist_id == artist_id)
            )
        )
    )


async def set_account_active(db: AsyncSession, user: User, active: bool) -> None:
    """An operator suspends or restores an account. Suspension keeps everything (unlike leaving) but ends
    its sessions at once; sign-in and API keys are refused while it lasts."""
    if user.is_active == active:
        return
    user.is_active = active
    user.deactivated_at = None if active else datetime.now(UTC)
    if not active:
        await sessions.end_all_sessions(db, user.id)
