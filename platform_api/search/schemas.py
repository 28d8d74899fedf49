"""Search results and tag moderation."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, model_validator

from platform_api.community.schemas import ArtistCard, StyleCard
from platform_api.envelope import Page, WriteModel

QUERY_MAX_CHARS = 100


class SearchType(StrEnum):
    all = "all"
    styles = "styles"
    artists = "artists"


class StyleResult(StyleCard):
    matched_by: Literal["name", "tag"]


class ArtistResult(ArtistCard):
    matched_by: Literal["name", "username"]


class SearchResults(BaseModel):
    """One page per list asked for (`type`); a list not asked for is null. Page on with `type=styles` or
    `type=artists` and that list's `next_cursor`."""

    styles: Page[StyleResult] | None
    artists: Page[ArtistResult] | None


class TagOut(BaseModel):
    id: int
    name: str
    usage_count: int
    is_active: bool
    is_flagged: bool
    created_at: datetime


class TagModeration(WriteModel):
    """An inactive or flagged tag no longer finds styles in search."""

    is_active: bool | None = None
    is_flagged: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> TagModeration:
        if self.is_active is None and self.is_flagged is None:
            raise ValueError("give is_active, is_flagged or both")
        return self
