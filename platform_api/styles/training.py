"""A style's training runs: submission as Ray jobs, progress and outcome reported by the job, and the
reconciler that fails runs whose job died without reporting.

Every transition happens here, under the run's row lock, and only moves forward:
run pending → submitted → running → succeeded | failed | cancelled; style pending → training → completed | failed
(a cancelled run leaves its style failed, with the reason, so it can be trained again).
"""

from __future__ import annotations

import logging
import secrets
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import storage_keys
from core.contracts import (
    TrainingCompletion,
    TrainingImage,
    TrainingJobRequest,
    TrainingProgressReport,
)
from core.settings import Settings
from core.storage import ObjectStore
from db.models import Artist, Artwork, Style, Tag, TrainingRun, artwork_tags
from platform_api import errors
from platform_api.compute import FINISHED_BAD, TrainingJobs, new_submission_id
from platform_api.database import after_commit
from platform_api.errors import ApiError
from platform_api.notifications.service import notify
from platform_api.styles import epochs

log = logging.getLogger(__name__)

UNFINISHED = ("pending", "submitted", "running")
FINISHED = ("succeeded", "failed", "cancelled")
CANCELLED_REASON = "cancelled by the artist"
# A job Ray reports as succeeded gets this long for its completion call to arrive.
COMPLETION_GRACE = timedelta(seconds=60)
# The request that created a run submits it right after commit; the reconciler picks up what that missed.
SUBMISSION_GRACE = timedelta(seconds=30)


async def start_run(db: AsyncSession, style: Style, jobs: TrainingJobs, settings: Settings,
                    session_factory: async_sessionmaker) -> TrainingRun:
    """A new training run for the style, submitted to Ray once this transaction commits."""
    attempt = 1 + len(list(await db.scalars(select(TrainingRun.id).where(TrainingRun.style_id == style.id))))
    run = TrainingRun(style_id=style.id, attempt=attempt, submission_id=f"pending-{secrets.token_hex(8)}")
    db.add(run)
    await db.flush()
    run.submission_id = new_submission_id(run.id)
    style.training_status = "pending"
    request, job_id = await build_request(db, style, run, settings), run.submission_id
    after_commit(db, lambda: _submit(jobs, request, job_id, session_factory))
    return run


async def build_request(db: AsyncSession, style: Style, run: TrainingRun, settings: Settings) -> TrainingJobRequest:
    rows = (await db.execute(
        select(Artwork.id, Artwork.image_key, Tag.name)
        .join(artwork_tags, artwork_tags.c.artwork_id == Artwork.id).join(Tag, Tag.id == artwork_tags.c.tag_id)
        .where(Artwork.style_id == style.id, Artwork.is_valid).order_by(Artwork.position, Tag.name)
    )).all()
    images: dict[int, tuple[str, list[str]]] = {}
    for artwork_id, key, tag in rows:
        images.setdefault(artwork_id, (key, []))[1].append(tag)
    diffusion = settings.diffusion
    return TrainingJobRequest(
        run_id=run.id,
        style_id=style.id,
        trigger_tag=style.trigger_tag,
        base_model=diffusion.base_model,
        images=[
            TrainingImage(key=storage_keys.training_copy_of(key),
                          caption=", ".join(dict.fromkeys([style.trigger_tag, *tags])))
            for key, tags in images.values()
        ],
        recipe=diffusion.training,
        seed=run.id,
        output_prefix=storage_keys.training_run(style.id, run.id),
        callback_url=settings.ray.callback_url or settings.app.public_url,
    )


async def _submit(jobs: TrainingJobs, request: TrainingJobRequest, job_id: str,
                  session_factory: async_sessionmaker) -> None:
    await jobs.submit(request, job_id)
    async with session_factory() as db, db.begin():
        await db.execute(update(TrainingRun).where(TrainingRun.id == request.run_id, TrainingRun.status == "pending")
                         .values(status="submitted"))
        status = await db.scalar(select(TrainingRun.status).where(TrainingRun.id == request.run_id))
    if status == "cancelled":  # cancelled before its job existed, so nothing could stop it then
        await jobs.stop(job_id)


async def _locked_run(db: AsyncSession, run_id: int) -> tuple[TrainingRun, Style]:
    """The run and its style, locked style first: the order an artist's cancel locks them in, so a job's report
    and a cancel never deadlock."""
    style = await db.scalar(select(Style).where(Style.id == select(TrainingRun.style_id)
                                                .where(TrainingRun.id == run_id).scalar_subquery()).with_for_update())
    if style is None:
        raise ApiError(errors.NOT_FOUND)
    run = await db.scalar(select(TrainingRun).where(TrainingRun.id == run_id).with_for_update())
    return run, style


async def record_progress(db: AsyncSession, run_id: int, report: TrainingProgressReport) -> None:
    run, style = await _locked_run(db, run_id)
    if run.status == "cancelled":  # the job stops on this answer, should Ray's stop not have reached it
        raise ApiError(errors.CONFLICT, details={"reason": CANCELLED_REASON})
    if run.status in FINISHED:
        return  # a late report never reopens a finished run
    now = datetime.now(UTC)
    run.status = "running"
    run.started_at = run.started_at or now
    samples = report.sample_keys or (run.progress or {}).get("sample_keys", [])
    run.progress = report.model_dump(exclude={"sample_keys"}) | {"last_updated": now.isoformat(), "sample_keys": samples}
    style.training_status = "training"


async def complete_run(db: AsyncSession, run_id: int, completion: TrainingCompletion) -> None:
    run, style = await _locked_run(db, run_id)
    if run.status in FINISHED:
        return
    expected = storage_keys.training_run(style.id, run.id)
    if not all(key.startswith(expected) for key in (completion.adapter_key, completion.manifest_key,
                                                     *completion.sample_keys)):
        raise ApiError(errors.VALIDATION_ERROR, details={"reason": f"outputs must be under {expected}"})
    epochs.checked_outputs(expected, completion.manifest)
    now = datetime.now(UTC)
    run.status, run.finished_at = "succeeded", now
    run.manifest = completion.manifest | {"sample_keys": completion.sample_keys, "manifest_key": completion.manifest_key}
    style.training_status, style.adapter_key, style.trained_at = "completed", completion.adapter_key, now
    # Ready with the best epoch; the notification names it, and the artist may choose another.
    best = completion.manifest.get("best_epoch")
    await _notify_artist(db, style, "style_training_complete", **({"epoch": best} if best else {}))


async def fail_run(db: AsyncSession, run_id: int, reason: str, store: ObjectStore) -> None:
    run, style = await _locked_run(db, run_id)
    await _fail(db, run, style, reason, store)


async def _fail(db: AsyncSession, run: TrainingRun, style: Style, reason: str, store: ObjectStore) -> None:
    if run.status in FINISHED:
        return
    run.status, run.finished_at, run.error_message = "failed", datetime.now(UTC), reason[:2000]
    style.training_status = "failed"
    await _notify_artist(db, style, "style_training_failed")
    # Its epochs' adapters (up to about 90 MB each) serve nothing now; the samples stay for the artist to see.
    adapters = f"{storage_keys.training_run(style.id, run.id)}{storage_keys.EPOCH_ADAPTERS}/"
    after_commit(db, lambda: _delete_under(store, adapters))


async def cancel_run(db: AsyncSession, style: Style, jobs: TrainingJobs, store: ObjectStore) -> None:
    """Cancel the style's unfinished run (the style row is locked by the caller). Once this commits, its Ray job
    is stopped (the job then removes its work files) and what it stored so far is deleted."""
    run = await db.scalar(select(TrainingRun).where(TrainingRun.style_id == style.id,
                                                    TrainingRun.status.in_(UNFINISHED)).with_for_update())
    if run is None:
        raise ApiError(errors.CONFLICT, details={"training_status": style.training_status})
    run.status, run.finished_at, run.error_message = "cancelled", datetime.now(UTC), CANCELLED_REASON
    style.training_status = "failed"
    job_id, prefix = run.submission_id, storage_keys.training_run(style.id, run.id)
    after_commit(db, lambda: _stop_and_clean(jobs, job_id, store, prefix))


async def _stop_and_clean(jobs: TrainingJobs, job_id: str, store: ObjectStore, prefix: str) -> None:
    """A stopped job deletes what it stored itself (after its last upload); this covers one already gone."""
    try:
        await jobs.stop(job_id)
    finally:
        await _delete_under(store, prefix)


async def _delete_under(store: ObjectStore, prefix: str) -> None:
    for key in await store.list(prefix):
        await store.delete(key)


async def _notify_artist(db: AsyncSession, style: Style, kind: str, **extra) -> None:
    artist_user_id = await db.scalar(select(Artist.user_id).where(Artist.id == style.artist_id))
    await notify(db, recipient_id=artist_user_id, type=kind,
                 data={"style_id": style.id, "style_title": style.title} | extra)


async def reconcile_training_runs(app: FastAPI, db: AsyncSession, *, batch: int = 20) -> int:
    """Submit runs whose submission was lost; fail runs whose job failed, was stopped or vanished, or
    finished without reporting. Safe in every API process (SKIP LOCKED)."""
    jobs: TrainingJobs = app.state.training_jobs
    settings: Settings = app.state.settings
    store: ObjectStore = app.state.object_store
    now = datetime.now(UTC)
    rows = (await db.execute(
        select(TrainingRun, Style).join(Style, Style.id == TrainingRun.style_id)
        .where(TrainingRun.status.in_(UNFINISHED)).order_by(TrainingRun.id).limit(batch)
        # Both rows, skipping any a cancel or a job's report holds: never waiting, so never a deadlock.
        .with_for_update(of=(TrainingRun, Style), skip_locked=True)
    )).all()
    for run, style in rows:
        if run.status == "pending":
            if run.created_at < now - SUBMISSION_GRACE:
                await jobs.submit(await build_request(db, style, run, settings), run.submission_id)
                run.status = "submitted"
            continue
        status = await jobs.status(run.submission_id)
        if status is None:
            await _fail(db, run, style, "the training job vanished from the cluster", store)
        elif status in FINISHED_BAD:
            await _fail(db, run, style, f"the training job ended {status.lower()}", store)
        elif status == "SUCCEEDED" and run.updated_at < now - COMPLETION_GRACE:
            await _fail(db, run, style, "the training job finished without reporting its adapter", store)
    return len(rows)
