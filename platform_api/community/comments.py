"""Comments and one level of replies on a generation (spec §6.7).

comment_count counts comments that are not deleted. Deleting a comment that has replies keeps it as a
placeholder (no content, no author) so the replies keep their place; one without replies is removed, and a
placeholder goes when its last reply does.

Row locks, always taken in this order so writers never deadlock: the comment, then its parent, then the
generation (its count). A new reply holds its parent FOR SHARE until it commits, so a deletion of that parent
(FOR UPDATE) waits and then sees the reply.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Comment, Generation, User
from platform_api import errors
from platform_api.community.counters import move_count
from platform_api.community.schemas import CommentCreate
from platform_api.community.visibility import visible_generation, visible_generation_or_404
from platform_api.errors import ApiError
from platform_api.notifications.service import notify
from platform_api.pagination import PageParams, Slice, paginate_rows


async def list_comments(
    db: AsyncSession, generation_id: int, viewer_id: int | None, params: PageParams
) -> tuple[Slice, dict[int, list]]:
    """Top-level comments newest first (rows of Comment + author), and each one's replies oldest first."""
    await visible_generation_or_404(db, generation_id, viewer_id)
    top = (
        select(Comment, User)
        .join(User, User.id == Comment.user_id)
        .where(Comment.generation_id == generation_id, Comment.parent_id.is_(None))
    )
    page = await paginate_rows(db, top, [Comment.created_at, Comment.id], params)
    replies: dict[int, list] = {row.Comment.id: [] for row in page.rows}
    if replies:
        rows = await db.execute(
            select(Comment, User)
            .join(User, User.id == Comment.user_id)
            .where(Comment.parent_id.in_(replies))
            .order_by(Comment.created_at, Comment.id)
        )
        for row in rows:
            replies[row.Comment.parent_id].append(row)
    return page, replies


async def add_comment(db: AsyncSession, author: User, generation_id: int, body: CommentCreate) -> Comment:
    generation = await visible_generation_or_404(db, generation_id, author.id)
    parent = await _parent(db, generation.id, body.parent_id) if body.parent_id is not None else None
    comment = Comment(generation_id=generation.id, user_id=author.id, parent_id=body.parent_id, content=body.content)
    db.add(comment)
    await db.flush()
    await move_count(db, Generation.comment_count, Generation.id, generation.id, +1)
    # The parent's author hears of a reply; the image's owner of every comment, once (a reply to the owner's
    # own comment is that one notification).
    data = {"generation_id": generation.id, "comment_id": comment.id}
    if parent is not None:
        await notify(db, recipient_id=parent.user_id, type="comment", actor_id=author.id,
                     data=data | {"parent_comment_id": parent.id})
    if parent is None or parent.user_id != generation.user_id:
        await notify(db, recipient_id=generation.user_id, type="comment", actor_id=author.id, data=data)
    await db.refresh(comment)
    return comment


async def _parent(db: AsyncSession, generation_id: int, parent_id: int) -> Comment:
    parent = await db.scalar(
        select(Comment).where(Comment.id == parent_id, Comment.generation_id == generation_id)
        .with_for_update(read=True)
    )
    if parent is None or parent.is_deleted:
        raise ApiError(errors.NOT_FOUND, details={"reason": "parent_comment_not_found"})
    if parent.parent_id is not None:
        raise ApiError(errors.REPLY_DEPTH_EXCEEDED)
    return parent


async def edit_comment(db: AsyncSession, author: User, comment_id: int, content: str) -> Comment:
    comment = await _own_comment(db, author, comment_id)
    comment.content = content
    await db.flush()
    await db.refresh(comment)
    return comment


async def delete_comment(db: AsyncSession, author: User, comment_id: int) -> None:
    comment = await _own_comment(db, author, comment_id)
    generation_id, parent_id = comment.generation_id, comment.parent_id
    if parent_id is not None:
        # Lock the parent before the generation: the order every writer takes.
        await db.scalar(select(Comment.id).where(Comment.id == parent_id).with_for_update())
    if await db.scalar(select(exists().where(Comment.parent_id == comment.id))):
        comment.is_deleted = True
    else:
        await db.delete(comment)
    await db.flush()
    await move_count(db, Generation.comment_count, Generation.id, generation_id, -1)
    if parent_id is not None:
        await delete_placeholders_without_replies(db, [parent_id])


async def _own_comment(db: AsyncSession, author: User, comment_id: int) -> Comment:
    """The comment locked for a change by its author: NOT_FOUND when it is gone or on an image the author can
    no longer see, FORBIDDEN when it is someone else's."""
    comment = await db.scalar(
        select(Comment)
        .join(Generation, Generation.id == Comment.generation_id)
        .where(Comment.id == comment_id, ~Comment.is_deleted, visible_generation(author.id))
        .with_for_update(of=Comment)
    )
    if comment is None:
        raise ApiError(errors.NOT_FOUND)
    if comment.user_id != author.id:
        raise ApiError(errors.FORBIDDEN)
    return comment


async def delete_placeholders_without_replies(db: AsyncSession, comment_ids: Iterable[int]) -> None:
    reply = aliased(Comment)
    await db.execute(delete(Comment).where(
        Comment.id.in_(list(comment_ids)), Comment.is_deleted, ~exists().where(reply.parent_id == Comment.id)
    ))
