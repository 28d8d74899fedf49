from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from platform_api.envelope import InputModel, WriteModel

StyleSort = Literal["recent", "popular"]


class StyleForm(InputModel):
    """The form fields of `POST /styles` beside the image files."""

    title: str = Field(min_length=1, max_length=100)
    description: str = Field(default="", max_length=2000)
    generation_cost_tokens: int = Field(ge=1, le=10000)
    tags: str = Field(description="A JSON array holding one array of English tags per image, in upload order.")


class StyleUpdate(WriteModel):
    title: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=2000)
    generation_cost_tokens: int | None = Field(default=None, ge=1, le=10000)
    # Which kept epoch of the trained style new generations draw with (`training_scores.epochs[].adapter_kept`).
    epoch: int | None = Field(default=None, ge=1, le=200)


class TrainingProgress(BaseModel):
    """Spec §6.5.4: present only while the style is training."""

    current_epoch: int
    total_epochs: int
    progress_percent: int
    estimated_seconds: int
    last_updated: datetime


class StyleArtist(BaseModel):
    user_id: int
    artist_name: str
    username: str
    # Whether the reader follows the artist; null for anonymous readers.
    followed_by_me: bool | None = None


class EpochScore(BaseModel):
    epoch: int
    training_loss: float
    heldout_loss: float | None  # null when nothing could be held out (a style of one image)
    # The epoch's samples: the same prompts and seeds every epoch.
    sample_image_urls: list[str]
    adapter_kept: bool  # whether the artist can choose it
    in_use: bool  # whether new generations draw with it


class TrainingScores(BaseModel):
    """How well the style learned: after each epoch, the denoising loss on images held out of training (lower is
    better) beside the base model's on the same images (docs/training.md, Quality score), the epoch's samples,
    and which epochs the artist can choose between."""

    base_heldout_loss: float | None
    best_epoch: int
    epochs: list[EpochScore]


class StyleOut(BaseModel):
    id: int
    title: str
    description: str
    generation_cost_tokens: int
    training_status: str
    progress: TrainingProgress | None
    thumbnail_url: str | None
    artist: StyleArtist
    tags: list[str]
    generation_count: int
    created_at: datetime
    trained_at: datetime | None
    # Only for the style's artist:
    sample_image_urls: list[str] | None = None
    training_image_count: int | None = None
    training_error: str | None = None
    training_scores: TrainingScores | None = None
