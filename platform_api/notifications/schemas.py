"""Notifications as their reader sees them: the stored type and data, and the text in the reader's language."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from platform_api.community.schemas import UserCard
from platform_api.envelope import Page


class NotificationOut(BaseModel):
    id: int
    type: str
    message: str
    data: dict[str, Any]
    actor: UserCard | None
    is_read: bool
    read_at: datetime | None
    created_at: datetime


class NotificationPage(Page[NotificationOut]):
    unread_count: int


class ReadAll(BaseModel):
    marked_read: int
    unread_count: int
