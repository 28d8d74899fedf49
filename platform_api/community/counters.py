"""Cached counts (like_count, comment_count, follower_count) move only here, by a relative UPDATE in the
transaction that inserts or deletes the counted row, so concurrent writers never lose an update and a count
always equals a recount of its rows."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def move_count(db: AsyncSession, counter: InstrumentedAttribute, key: InstrumentedAttribute, key_value: int,
                     step: int) -> int:
    """Add `step` to `counter` of the row whose `key` is `key_value`; returns the new count."""
    return await db.scalar(
        update(counter.class_).where(key == key_value).values({counter: counter + step}).returning(counter)
    )
