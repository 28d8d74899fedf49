"""Notifications: stored as type + data in the transaction of their cause (spec §6.9)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Notification


async def notify(
    db: AsyncSession, *, recipient_id: int, type: str, data: dict, actor_id: int | None = None
) -> None:
    """Queue a notification in the caller's transaction, so it exists exactly when its cause commits.

    No one is notified of their own action (liking one's own image, commenting on it).
    """
    if actor_id == recipient_id:
        return
    db.add(Notification(recipient_id=recipient_id, actor_id=actor_id, type=type, data=data))
