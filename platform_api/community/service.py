"""Likes and follows (spec §6.7): each is a unique row plus a cached count moved in the same transaction,
and a notification for the person liked or followed. Also what leaving removes of a person's social traces."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased, selectinload

from db.models import Artist, Comment, Follow, Generation, Like, User
from platform_api import errors
from platform_api.community.cards import artist_cards
from platform_api.community.comments import delete_placeholders_without_replies
from platform_api.community.counters import move_count
from platform_api.community.schemas import FollowState, LikeState
from platform_api.community.visibility import visible_generation_or_404
from platform_api.errors import ApiError
from platform_api.notifications.service import notify_once
from platform_api.pagination import PageParams, Slice, paginate_rows


async def like(db: AsyncSession, user: User, generation_id: int) -> LikeState:
    """Idempotent: liking twice leaves one like."""
    generation = await visible_generation_or_404(db, generation_id, user.id)
    inserted = await db.scalar(
        insert(Like).values(user_id=user.id, generation_id=generation.id)
        .on_conflict_do_nothing().returning(Like.id)
    )
    if inserted is None:
        return LikeState(generation_id=generation.id, liked=True, like_count=await _like_count(db, generation.id))
    count = await move_count(db, Generation.like_count, Generation.id, generation.id, +1)
    await notify_once(db, recipient_id=generation.user_id, type="like", data={"generation_id": generation.id},
                      actor_id=user.id)
    return LikeState(generation_id=generation.id, liked=True, like_count=count)


async def unlike(db: AsyncSession, user: User, generation_id: int) -> LikeState:
    """Idempotent: unliking what one does not like changes nothing."""
    generation = await visible_generation_or_404(db, generation_id, user.id)
    deleted = await db.scalar(
        delete(Like).where(Like.user_id == user.id, Like.generation_id == generation.id).returning(Like.id)
    )
    count = (
        await move_count(db, Generation.like_count, Generation.id, generation.id, -1)
        if deleted is not None
        else await _like_count(db, generation.id)
    )
    return LikeState(generation_id=generation.id, liked=False, like_count=count)


async def _like_count(db: AsyncSession, generation_id: int) -> int:
    return await db.scalar(select(Generation.like_count).where(Generation.id == generation_id))


async def follow(db: AsyncSession, follower: User, artist_user_id: int) -> FollowState:
    if artist_user_id == follower.id:
        raise ApiError(errors.SELF_FOLLOW_NOT_ALLOWED)
    await _followable_artist(db, artist_user_id)
    inserted = await db.scalar(
        insert(Follow).values(follower_id=follower.id, following_id=artist_user_id)
        .on_conflict_do_nothing().returning(Follow.id)
    )
    if inserted is None:
        raise ApiError(errors.DUPLICATE_FOLLOW)
    count = await move_count(db, Artist.follower_count, Artist.user_id, artist_user_id, +1)
    await notify_once(db, recipient_id=artist_user_id, type="follow", data={}, actor_id=follower.id)
    return FollowState(user_id=artist_user_id, following=True, follower_count=count)


async def unfollow(db: AsyncSession, follower: User, artist_user_id: int) -> FollowState:
    deleted = await db.scalar(
        delete(Follow).where(Follow.follower_id == follower.id, Follow.following_id == artist_user_id)
        .returning(Follow.id)
    )
    if deleted is None:
        raise ApiError(errors.NOT_FOUND, details={"reason": "not_following"})
    count = await move_count(db, Artist.follower_count, Artist.user_id, artist_user_id, -1)
    return FollowState(user_id=artist_user_id, following=False, follower_count=count)


async def _followable_artist(db: AsyncSession, user_id: int) -> None:
    target = await db.scalar(
        select(User).options(selectinload(User.artist)).where(User.id == user_id, User.is_active)
    )
    if target is None:
        raise ApiError(errors.NOT_FOUND)
    if target.artist is None:
        raise ApiError(errors.NOT_AN_ARTIST)


async def following(db: AsyncSession, user_id: int, params: PageParams) -> Slice:
    """The artists `user_id` follows, most recently followed first; rows are artist cards + followed_at."""
    statement = (
        artist_cards()
        .add_columns(Follow.created_at.label("followed_at"))
        .join(Follow, Follow.following_id == User.id)
        .where(Follow.follower_id == user_id, User.is_active)
    )
    return await paginate_rows(db, statement, [Follow.created_at, Follow.id], params)


async def forget_user(db: AsyncSession, user_id: int) -> None:
    """Remove a leaving person's likes, comments (with the replies under them) and follows, both ways, moving
    every count they were part of, before the account is deleted or deactivated (spec §10.1). Deleting the
    account alone would cascade the rows away and leave the counts behind."""
    liked = (await db.scalars(delete(Like).where(Like.user_id == user_id).returning(Like.generation_id))).all()
    for generation_id in liked:
        await move_count(db, Generation.like_count, Generation.id, generation_id, -1)

    followed = (await db.scalars(
        delete(Follow).where(Follow.follower_id == user_id).returning(Follow.following_id)
    )).all()
    for artist_user_id in followed:
        await move_count(db, Artist.follower_count, Artist.user_id, artist_user_id, -1)
    await db.execute(delete(Follow).where(Follow.following_id == user_id))
    await db.execute(update(Artist).where(Artist.user_id == user_id).values(follower_count=0))

    mine = aliased(Comment)
    removed = (await db.execute(
        delete(Comment)
        .where((Comment.user_id == user_id) | Comment.parent_id.in_(select(mine.id).where(mine.user_id == user_id)))
        .returning(Comment.generation_id, Comment.parent_id, Comment.is_deleted)
    )).all()
    for generation_id, count in Counter(row.generation_id for row in removed if not row.is_deleted).items():
        await move_count(db, Generation.comment_count, Generation.id, generation_id, -count)
    # Someone else's deleted comment, kept only for the replies this person wrote under it, goes too.
    parents = {row.parent_id for row in removed if row.parent_id is not None}
    if parents:
        await delete_placeholders_without_replies(db, parents)
