"""Generation requests (spec §6.6): charge and queue in one transaction, then views for their owner and for
everyone once public."""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import Select, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.settings import Settings
from db.models import Artist, Generation, Style, User, generation_tags
from platform_api import errors
from platform_api.community.cards import liked_by
from platform_api.community.visibility import listed_style
from platform_api.errors import ApiError
from platform_api.generations.schemas import (
    SIZES,
    GenerationCreate,
    GenerationOut,
    GenerationProgressOut,
    GenerationStyle,
    GenerationUpdate,
    QueueOut,
)
from platform_api.generations.transitions import CLAIMABLE
from platform_api.tagging import normalize_tag, tag_ids
from platform_api.tokens import ledger
from platform_api.users.schemas import ImageUrl

_HTML = re.compile(r"<[^>]*>")
UNFINISHED = (*CLAIMABLE, "processing")


def prompt_tags(raw: Sequence[str]) -> list[str]:
    """English tags with HTML stripped (spec §10.4), each once; VALIDATION_ERROR names the bad one."""
    tags = []
    for index, tag in enumerate(raw):
        try:
            tags.append(normalize_tag(_HTML.sub(" ", tag)))
        except ValueError as error:
            raise ApiError(errors.VALIDATION_ERROR, details={"errors": [
                {"loc": ["body", "prompt_tags", index], "message": str(error)}]}) from None
    return list(dict.fromkeys(tags))


async def request_generation(db: AsyncSession, user: User, body: GenerationCreate) -> Generation:
    """Validate, reserve the style's price and queue the generation, all in the request's transaction."""
    tags = prompt_tags(body.prompt_tags)
    style = await db.scalar(select(Style).where(Style.id == body.style_id))
    if style is None:
        raise ApiError(errors.NOT_FOUND)
    listed = await db.scalar(select(listed_style()).where(Style.id == style.id))
    if not listed or not style.adapter_key:
        raise ApiError(errors.STYLE_NOT_READY, details={"training_status": style.training_status})
    width, height = SIZES[body.aspect_ratio]
    # An INSERT ... RETURNING of the row as an object: one round trip without the unit of work's flush.
    generation = await db.scalar(insert(Generation).returning(Generation).values(
        user_id=user.id,
        style_id=style.id,
        prompt_tags=tags,
        prompt=", ".join(dict.fromkeys([style.trigger_tag, *tags])),
        description=_HTML.sub("", body.description).strip() if body.description else None,
        aspect_ratio=body.aspect_ratio,
        width=width,
        height=height,
        seed=body.seed if body.seed is not None else secrets.randbelow(2**32),
        cost_tokens=style.generation_cost_tokens,
        adapter_key=style.adapter_key,
        next_attempt_at=datetime.now(UTC),
    ))
    await ledger.reserve_for_generation(db, user_id=user.id, generation_id=generation.id, amount=style.generation_cost_tokens)
    ids = await tag_ids(db, tags)
    await db.execute(generation_tags.insert().values([{"generation_id": generation.id, "tag_id": i} for i in ids.values()]))
    return generation


async def owned_generation(db: AsyncSession, generation_id: int, user: User) -> Generation:
    generation = await db.scalar(select(Generation).where(Generation.id == generation_id).with_for_update())
    if generation is None or generation.user_id != user.id:
        raise ApiError(errors.NOT_FOUND)  # another's private work is not even acknowledged
    return generation


async def update_generation(db: AsyncSession, generation: Generation, changes: GenerationUpdate) -> Generation:
    if changes.is_public and generation.status != "completed":
        raise ApiError(errors.CONFLICT, details={"reason": "only a completed image can be shared"})
    if changes.is_public is not None:
        generation.is_public = changes.is_public
    if "description" in changes.model_fields_set:
        generation.description = _HTML.sub("", changes.description).strip() if changes.description else None
    await db.flush()
    return generation


def mine(user: User) -> Select:
    return select(Generation).where(Generation.user_id == user.id)


async def _queue(db: AsyncSession, generations: Sequence[Generation], settings: Settings) -> dict[int, QueueOut]:
    """Position among all unfinished work created earlier, and a wait from recent throughput."""
    waiting = [g for g in generations if g.status in CLAIMABLE]
    if not waiting:
        return {}
    recent = select(Generation.completed_at - Generation.created_at).where(Generation.status == "completed").order_by(
        Generation.completed_at.desc()).limit(50).subquery()
    average = await db.scalar(select(func.avg(func.extract("epoch", recent.c[0]))))
    seconds_per_image = float(average) if average else settings.generation.default_seconds_per_image
    queue = {}
    for generation in waiting:
        ahead = await db.scalar(select(func.count()).select_from(Generation).where(
            Generation.status.in_(UNFINISHED), Generation.created_at < generation.created_at))
        queue[generation.id] = QueueOut(position=ahead + 1, estimated_seconds=round((ahead + 1) * seconds_per_image))
    return queue


async def views(db: AsyncSession, generations: Sequence[Generation], image_url: ImageUrl,
                settings: Settings, viewer_id: int | None) -> list[GenerationOut]:
    if not generations:
        return []
    styles = {row.id: row for row in (await db.execute(
        select(Style.id, Style.title, Artist.user_id, Artist.artist_name).join(Artist, Artist.id == Style.artist_id)
        .where(Style.id.in_({g.style_id for g in generations}))
    )).all()}
    queue = await _queue(db, generations, settings)
    liked = await liked_by(db, viewer_id, (g.id for g in generations))
    return [_view(g, styles[g.style_id], queue.get(g.id), image_url, liked) for g in generations]


def _view(generation: Generation, style, queue: QueueOut | None, image_url: ImageUrl, liked: set[int] | None
          ) -> GenerationOut:
    progress = None
    if generation.status == "processing" and generation.progress:
        progress = GenerationProgressOut.model_validate(generation.progress)
    return GenerationOut(
        id=generation.id, status=generation.status, user_id=generation.user_id,
        style=GenerationStyle(id=style.id, title=style.title, artist_user_id=style.user_id,
                              artist_name=style.artist_name),
        prompt_tags=generation.prompt_tags, description=generation.description,
        aspect_ratio=generation.aspect_ratio, width=generation.width, height=generation.height,
        seed=generation.seed, cost_tokens=generation.cost_tokens, is_public=generation.is_public,
        image_url=image_url(generation.result_key), thumbnail_url=image_url(generation.thumbnail_key),
        like_count=generation.like_count, comment_count=generation.comment_count,
        liked_by_me=None if liked is None else generation.id in liked, progress=progress,
        queue=queue, attempts=generation.attempts,
        error_code=generation.error_code if generation.status == "failed" else None,
        created_at=generation.created_at, completed_at=generation.completed_at,
    )
