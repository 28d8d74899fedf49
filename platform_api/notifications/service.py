"""Notifications: stored as type + data in the transaction of their cause (spec §6.9), listed with their
text rendered in the reader's language.

What `data` holds, by type (the text and the web app's links are built from it):
    follow                                       {}
    like                                         {"generation_id"}
    comment                                      {"generation_id", "comment_id"} (+ "parent_comment_id": a reply)
    generation_complete, generation_failed       {"generation_id"}
    style_training_complete                      {"style_id", "style_title"} (+ "epoch": the one it draws with)
    style_training_failed                        {"style_id", "style_title"}
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import BigInteger, ColumnElement, and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Generation, Notification, User
from db.models.system import NOTIFICATION_TYPES
from platform_api import errors
from platform_api.community.visibility import visible_generation
from platform_api.errors import ApiError
from platform_api.pagination import PageParams, Slice, paginate_rows


async def notify(
    db: AsyncSession, *, recipient_id: int, type: str, data: dict, actor_id: int | None = None
) -> None:
    """Queue a notification in the caller's transaction, so it exists exactly when its cause commits.

    No one is notified of their own action (liking one's own image, commenting on it).
    """
    if actor_id == recipient_id:
        return
    _check(type, data)
    db.add(Notification(recipient_id=recipient_id, actor_id=actor_id, type=type, data=data))


async def notify_once(db: AsyncSession, *, recipient_id: int, type: str, data: dict, actor_id: int) -> None:
    """`notify`, unless this actor already told this recipient the same thing: like, unlike and like again,
    or follow, unfollow and follow again, notify once."""
    if actor_id == recipient_id:
        return
    already = await db.scalar(select(exists().where(
        Notification.recipient_id == recipient_id,
        Notification.actor_id == actor_id,
        Notification.type == type,
        Notification.data == data,
    )))
    if not already:
        await notify(db, recipient_id=recipient_id, type=type, data=data, actor_id=actor_id)


def _check(type: str, data: dict) -> None:
    """A caller's mistake fails its own tests, not a reader's listing later."""
    if type not in NOTIFICATION_TYPES:
        raise ValueError(f"unknown notification type {type!r}")
    generation_id = data.get("generation_id")
    if generation_id is not None and (not isinstance(generation_id, int) or isinstance(generation_id, bool)):
        raise ValueError("generation_id must be an integer")


def readable_by(reader_id: int) -> ColumnElement[bool]:
    """A notification about an image the reader can no longer see (made private, its owner deactivated or
    deleted) is not shown: the image stays invisible through notifications too."""
    generation_id = Notification.data["generation_id"].astext.cast(BigInteger)
    return or_(
        ~Notification.data.has_key("generation_id"),
        exists().where(Generation.id == generation_id, visible_generation(reader_id)),
    )


def _mine(reader_id: int) -> ColumnElement[bool]:
    return and_(Notification.recipient_id == reader_id, readable_by(reader_id))


async def list_notifications(db: AsyncSession, reader_id: int, params: PageParams, *, unread_only: bool) -> Slice:
    """Newest first; each row is (Notification, actor's User or None when gone or deactivated)."""
    statement = (
        select(Notification, User)
        .outerjoin(User, and_(User.id == Notification.actor_id, User.is_active))
        .where(_mine(reader_id))
    )
    if unread_only:
        statement = statement.where(~Notification.is_read)
    return await paginate_rows(db, statement, [Notification.created_at, Notification.id], params)


async def unread_count(db: AsyncSession, reader_id: int) -> int:
    unread = select(func.count()).select_from(Notification).where(_mine(reader_id), ~Notification.is_read)
    return await db.scalar(unread)


async def mark_read(db: AsyncSession, reader_id: int, notification_id: int) -> tuple[Notification, User | None]:
    row = (await db.execute(
        select(Notification, User)
        .outerjoin(User, and_(User.id == Notification.actor_id, User.is_active))
        .where(Notification.id == notification_id, _mine(reader_id))
    )).one_or_none()
    if row is None:
        raise ApiError(errors.NOT_FOUND)
    notification, actor = row
    if not notification.is_read:
        notification.is_read = True
        notification.read_at = datetime.now(UTC)
    return notification, actor


async def mark_all_read(db: AsyncSession, reader_id: int) -> int:
    """Returns how many were unread."""
    result = await db.execute(
        update(Notification)
        .where(Notification.recipient_id == reader_id, ~Notification.is_read)
        .values(is_read=True, read_at=func.now())
    )
    return result.rowcount
