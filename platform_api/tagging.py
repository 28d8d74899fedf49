"""English tags (spec §2.1.7, §8.5): normalised to lowercase, stored once, linked to styles and artworks."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Tag

MAX_TAG_LENGTH = 50
# Letters, digits and a little punctuation, in English only: Stable Diffusion prompts are English.
_TAG = re.compile(r"^[a-z0-9](?:[a-z0-9 '&+.\-]*[a-z0-9+.])?$")
_SPACES = re.compile(r"\s+")


def normalize_tag(raw: str) -> str:
    """The stored form of a tag; ValueError when it is empty, too long or not English."""
    tag = _SPACES.sub(" ", raw).strip().lower()
    if not tag:
        raise ValueError("a tag cannot be empty")
    if len(tag) > MAX_TAG_LENGTH:
        raise ValueError(f"a tag is at most {MAX_TAG_LENGTH} characters")
    if not _TAG.match(tag):
        raise ValueError("tags are English words: letters a-z, digits, spaces and - ' & + .")
    return tag


async def tag_ids(db: AsyncSession, names: Iterable[str]) -> dict[str, int]:
    """Ids of these (normalised) tags, creating the missing ones."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    await db.execute(insert(Tag).values([{"name": name} for name in wanted]).on_conflict_do_nothing())
    rows = await db.execute(select(Tag.name, Tag.id).where(Tag.name.in_(wanted)))
    return dict(rows.all())


async def count_style_usage(db: AsyncSession, ids: Iterable[int], delta: int = 1) -> None:
    """usage_count is the number of styles using a tag, moved in the transaction that links them."""
    await db.execute(update(Tag).where(Tag.id.in_(list(ids))).values(usage_count=Tag.usage_count + delta))
