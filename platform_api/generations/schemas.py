from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from platform_api.envelope import WriteModel

AspectRatio = Literal["1:1", "2:2", "1:2"]
# Spec §2.1.3: default 512², grid 1024², shorts 512×1024 (width × height).
SIZES: dict[str, tuple[int, int]] = {"1:1": (512, 512), "2:2": (1024, 1024), "1:2": (512, 1024)}


class GenerationCreate(WriteModel):
    style_id: int = Field(ge=1, le=2**63 - 1)
    prompt_tags: list[str] = Field(min_length=1, max_length=30, description="English tags; HTML is removed.")
    description: str | None = Field(default=None, max_length=500)
    aspect_ratio: AspectRatio = "1:1"
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1, description="Random (and recorded) when absent.")


class GenerationUpdate(WriteModel):
    is_public: bool | None = None
    description: str | None = Field(default=None, max_length=500)


class GenerationProgressOut(BaseModel):
    """Spec §6.6.4: present only while processing."""

    current_step: int
    total_steps: int
    progress_percent: int
    estimated_seconds: int
    last_updated: datetime


class QueueOut(BaseModel):
    """While queued or retrying: how many requests are ahead and a rough wait."""

    position: int
    estimated_seconds: int


class GenerationStyle(BaseModel):
    id: int
    title: str
    artist_user_id: int
    artist_name: str


class GenerationOut(BaseModel):
    id: int
    status: Literal["queued", "processing", "retrying", "completed", "failed"]
    user_id: int
    style: GenerationStyle
    prompt_tags: list[str]
    description: str | None
    aspect_ratio: str
    width: int
    height: int
    seed: int
    cost_tokens: int
    is_public: bool
    image_url: str | None
    thumbnail_url: str | None
    like_count: int
    comment_count: int
    # Null for anonymous readers.
    liked_by_me: bool | None = None
    progress: GenerationProgressOut | None
    queue: QueueOut | None
    attempts: int
    error_code: str | None
    created_at: datetime
    completed_at: datetime | None
