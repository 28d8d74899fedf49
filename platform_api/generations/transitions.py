"""Every state change of a generation, each in the caller's transaction, forward-only and idempotent:

    queued ─claim→ processing ─complete→ completed           (settle to the artist, notify)
                       └─fail→ retrying ─claim→ processing … (retryable, at most `max_attempts` tries)
                       └─fail→ failed                        (final: full refund, notify)

A claim is a lease: the dispatcher renews it while the replica streams. A lease that runs out means the
dispatcher's process died; the reconciler then counts the attempt as failed, so nothing is lost and nothing
is charged twice (the ledger's one-outcome-per-generation index backs that up).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.contracts import GenerationProgress, GenerationResult
from core.settings import Settings
from db.models import Artist, Generation, Style
from platform_api.notifications.service import notify
from platform_api.tokens import ledger

CLAIMABLE = ("queued", "retrying")
FINISHED = ("completed", "failed")


def _now() -> datetime:
    return datetime.now(UTC)


def _lease_end(settings: Settings) -> datetime:
    return _now() + timedelta(seconds=settings.generation.lease_seconds)


async def claim(db: AsyncSession, generation_id: int, settings: Settings) -> Generation | None:
    """Start an attempt if the generation is due and nobody holds it; None otherwise (someone else won)."""
    now = _now()
    return await db.scalar(
        update(Generation)
        .where(Generation.id == generation_id, Generation.status.in_(CLAIMABLE),
               Generation.next_attempt_at <= now)
        .values(status="processing", attempts=Generation.attempts + 1, progress=None,
                lease_expires_at=_lease_end(settings))
        .returning(Generation)
    )


def _held(generation_id: int, attempt: int):
    """The generation, while this attempt still holds it."""
    return (Generation.id == generation_id, Generation.status == "processing", Generation.attempts == attempt)


async def renew_lease(db: AsyncSession, generation_id: int, attempt: int, settings: Settings) -> bool:
    """The attempt's dispatcher is alive: False when this attempt no longer holds the generation."""
    renewed = await db.scalar(
        update(Generation).where(*_held(generation_id, attempt))
        .values(lease_expires_at=_lease_end(settings))
        .returning(Generation.id)
    )
    return renewed is not None


async def record_progress(db: AsyncSession, generation_id: int, attempt: int, progress: GenerationProgress,
                          started: datetime) -> bool:
    """Store progress; False when this attempt no longer holds the generation."""
    now = _now()
    elapsed = (now - started).total_seconds()
    remaining = (progress.total_steps - progress.current_step) * elapsed / max(progress.current_step, 1)
    recorded = await db.scalar(
        update(Generation).where(*_held(generation_id, attempt))
        .values(
            progress={
                "current_step": progress.current_step,
                "total_steps": progress.total_steps,
                "progress_percent": math.floor(100 * progress.current_step / progress.total_steps),
                "estimated_seconds": round(remaining) if progress.current_step else 0,
                "last_updated": now.isoformat(),
            },
        )
        .returning(Generation.id)
    )
    return recorded is not None


async def _locked(db: AsyncSession, generation_id: int) -> Generation | None:
    return await db.scalar(select(Generation).where(Generation.id == generation_id).with_for_update())


async def complete(db: AsyncSession, generation_id: int, attempt: int, result: GenerationResult,
                   settings: Settings) -> bool:
    """The signed image is stored: completed, the artist is paid, the user is told."""
    generation = await _locked(db, generation_id)
    if generation is None or generation.status != "processing" or generation.attempts != attempt:
        return False
    style = await db.scalar(select(Style).where(Style.id == generation.style_id).with_for_update())
    artist_user_id = await db.scalar(select(Artist.user_id).where(Artist.id == style.artist_id))
    generation.status, generation.completed_at = "completed", _now()
    generation.result_key, generation.thumbnail_key = result.image_key, result.thumbnail_key
    generation.progress = generation.lease_expires_at = generation.error_code = generation.error_message = None
    style.generation_count += 1
    await ledger.settle_generation(db, generation_id=generation.id, artist_user_id=artist_user_id,
                                   share=settings.payments.artist_share)
    await notify(db, recipient_id=generation.user_id, type="generation_complete",
                 data={"generation_id": generation.id, "style_id": style.id, "style_title": style.title})
    return True


async def fail_attempt(db: AsyncSession, generation_id: int, attempt: int | None, *, code: str, message: str,
                       retryable: bool, settings: Settings) -> str | None:
    """An attempt failed: retry later while tries remain, else fail for good with a full refund.
    `attempt` None means whichever attempt holds it (an expired lease). Returns the new status."""
    generation = await _locked(db, generation_id)
    if generation is None or generation.status in FINISHED:
        return None
    if attempt is not None and (generation.status != "processing" or generation.attempts != attempt):
        return None
    generation.error_code, generation.error_message = code, message[:2000]
    generation.progress = generation.lease_expires_at = None
    delays = settings.generation.retry_delays_seconds
    if retryable and generation.attempts < len(delays):
        generation.status = "retrying"
        generation.next_attempt_at = _now() + timedelta(seconds=delays[generation.attempts])
        return "retrying"
    generation.status = "failed"
    await ledger.refund_generation(db, generation_id=generation.id)
    style_title = await db.scalar(select(Style.title).where(Style.id == generation.style_id))
    await notify(db, recipient_id=generation.user_id, type="generation_failed",
                 data={"generation_id": generation.id, "style_id": generation.style_id, "style_title": style_title})
    return "failed"
