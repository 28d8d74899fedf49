"""Who may see what. The one definition of a visible generation and a listed style, used by every feed,
like, comment, search and notification query (spec §2.1.8, §10.1).

A generation is visible to everyone when it is public, completed and its owner's account is active (a
deactivated account's profile and images are hidden); its owner always sees it.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Artist, Generation, Style, User
from platform_api import errors
from platform_api.errors import ApiError


def active_account(user_id: ColumnElement[int]) -> ColumnElement[bool]:
    # A fresh alias: never correlated to a `users` table of the query this condition goes into.
    account = aliased(User)
    return exists().where(account.id == user_id, account.is_active)


def visible_generation(viewer_id: int | None) -> ColumnElement[bool]:
    public = and_(Generation.is_public, Generation.status == "completed", active_account(Generation.user_id))
    return public if viewer_id is None else or_(public, Generation.user_id == viewer_id)


def listed_style() -> ColumnElement[bool]:
    """A style anyone can find and use: trained, not withdrawn, its artist's account active."""
    artist = aliased(Artist)
    artist_active = exists().where(artist.id == Style.artist_id, active_account(artist.user_id))
    return and_(Style.training_status == "completed", Style.is_active, artist_active)


async def visible_generation_or_404(db: AsyncSession, generation_id: int, viewer_id: int | None) -> Generation:
    """The generation, or NOT_FOUND when it does not exist or the viewer may not see it (the same answer,
    so a private image's existence is not revealed)."""
    generation = await db.scalar(
        select(Generation).where(Generation.id == generation_id, visible_generation(viewer_id))
    )
    if generation is None:
        raise ApiError(errors.NOT_FOUND)
    return generation
