"""Running a generation on the Serve application: claim it, stream the replica's progress into the row
(throttled) while renewing the lease, then record the outcome. Each step is its own short transaction; the
call to Serve happens outside any transaction."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError

from core.contracts import GenerationJob, GenerationProgress, GenerationRejected, GenerationResult
from core.settings import Settings
from db.models import Artist, Generation, Style
from platform_api.generations import transitions
from platform_api.logs import request_id_var

log = logging.getLogger(__name__)


class Dispatcher:
    """Owns the in-flight generation tasks of one API process."""

    def __init__(self, app: FastAPI):
        self.app = app
        self.tasks: set[asyncio.Task] = set()

    @property
    def settings(self) -> Settings:
        return self.app.state.settings

    def start(self, generation_id: int, *, delay: float = 0.0) -> None:
        task = asyncio.create_task(self._run(generation_id, delay), name=f"generation:{generation_id}")
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop(self) -> None:
        """Shutting down: abandon in-flight calls; their leases expire and the reconciler retries them."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def _run(self, generation_id: int, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        sessions = self.app.state.session_factory
        async with sessions() as db, db.begin():
            generation = await transitions.claim(db, generation_id, self.settings)
            job = await _job(db, generation, self.settings) if generation else None
        if generation is None:
            return
        attempt = generation.attempts
        try:
            result = await asyncio.wait_for(self._attempt(job, attempt),
                                            self.settings.generation.attempt_timeout_seconds)
        except asyncio.CancelledError:
            raise
        except GenerationRejected as rejected:
            await self._failed(generation_id, attempt, "GENERATION_REJECTED", str(rejected), retryable=False)
        except Exception as error:  # replica died, out of memory, timeout, Serve unavailable: try again
            log.warning("generation attempt failed", extra={"generation_id": generation_id, "attempt": attempt,
                                                             "error": repr(error)})
            await self._failed(generation_id, attempt, type(error).__name__, repr(error), retryable=True)
        else:
            async with sessions() as db, db.begin():
                await transitions.complete(db, generation_id, attempt, result, self.settings)

    async def _attempt(self, job: GenerationJob, attempt: int) -> GenerationResult:
        """The replica's result, holding the lease throughout: a request still waiting in Serve's queue sends no
        progress, yet its dispatcher is alive and must not have its work taken over and drawn twice."""
        stream = asyncio.create_task(self._stream(job, attempt))
        lease = asyncio.create_task(self._hold_lease(job.generation_id, attempt))
        try:
            await asyncio.wait({stream, lease}, return_when=asyncio.FIRST_COMPLETED)
            if stream.done():
                return stream.result()
            raise RuntimeError("the generation's lease was lost")
        finally:
            for task in (stream, lease):
                task.cancel()
            await asyncio.gather(stream, lease, return_exceptions=True)

    async def _hold_lease(self, generation_id: int, attempt: int) -> None:
        """Renews the lease three times per lease period, so one missed renewal (a dropped database
        connection) loses nothing; returns once another attempt holds the generation."""
        while True:
            await asyncio.sleep(self.settings.generation.lease_seconds / 3)
            try:
                async with self.app.state.session_factory() as db, db.begin():
                    if not await transitions.renew_lease(db, generation_id, attempt, self.settings):
                        return
            except DBAPIError as error:
                log.warning("lease not renewed", extra={"generation_id": generation_id, "error": repr(error)})

    async def _stream(self, job: GenerationJob, attempt: int) -> GenerationResult:
        started, last_write = datetime.now(UTC), 0.0
        interval = self.settings.generation.progress_write_interval_seconds
        async for message in self.app.state.generations.stream(job):
            if message.get("kind") == "result":
                return GenerationResult.model_validate(message)
            progress = GenerationProgress.model_validate(message)
            if time.monotonic() - last_write >= interval:
                last_write = time.monotonic()
                async with self.app.state.session_factory() as db, db.begin():
                    if not await transitions.record_progress(db, job.generation_id, attempt, progress, started):
                        raise RuntimeError("the generation's lease was lost")
        raise RuntimeError("the replica ended without a result")

    async def _failed(self, generation_id: int, attempt: int, code: str, message: str, *, retryable: bool) -> None:
        async with self.app.state.session_factory() as db, db.begin():
            status = await transitions.fail_attempt(db, generation_id, attempt, code=code, message=message,
                                                    retryable=retryable, settings=self.settings)
            delay = None
            if status == "retrying":
                due = await db.scalar(select(Generation.next_attempt_at).where(Generation.id == generation_id))
                delay = max(0.0, (due - datetime.now(UTC)).total_seconds())
        if delay is not None:
            self.start(generation_id, delay=delay)


async def _job(db, generation: Generation, settings: Settings) -> GenerationJob:
    style, artist = (await db.execute(
        select(Style, Artist).join(Artist, Artist.id == Style.artist_id).where(Style.id == generation.style_id)
    )).one()
    return GenerationJob(
        generation_id=generation.id,
        adapter_key=generation.adapter_key,
        prompt=generation.prompt,
        width=generation.width,
        height=generation.height,
        seed=generation.seed,
        steps=settings.diffusion.inference_steps,
        guidance_scale=settings.diffusion.guidance_scale,
        artist_id=artist.id,
        artist_name=artist.artist_name,
        signature_key=artist.signature_image_key,
        style_id=style.id,
        style_title=style.title,
        created_at=generation.created_at,
        # Set while dispatching from the request that created it; a reconciler's dispatch has none.
        request_id=request_id_var.get(),
    )


async def reconcile_generations(app: FastAPI, db, *, batch: int = 50) -> int:
    """Pick up what no dispatcher holds: due queued/retrying work (e.g. Serve was down, the API restarted)
    and work whose dispatcher died (expired lease: the attempt counts as failed). SKIP LOCKED makes it safe
    in every API process; the conditional claim makes sure only one dispatcher runs each attempt."""
    now = datetime.now(UTC)
    settings: Settings = app.state.settings
    rows = list(await db.scalars(
        select(Generation).where(
            ((Generation.status.in_(transitions.CLAIMABLE)) & (Generation.next_attempt_at <= now))
            | ((Generation.status == "processing") & (Generation.lease_expires_at < now))
        ).order_by(Generation.next_attempt_at).limit(batch).with_for_update(skip_locked=True)
    ))
    due = []
    for generation in rows:
        if generation.status == "processing":
            status = await transitions.fail_attempt(db, generation.id, None, code="LEASE_EXPIRED",
                                                    message="the process running it stopped", retryable=True,
                                                    settings=settings)
            if status == "retrying":
                due.append((generation.id, max(0.0, (generation.next_attempt_at - now).total_seconds())))
        else:
            due.append((generation.id, 0.0))
    dispatcher: Dispatcher = app.state.dispatcher
    for generation_id, delay in due:
        dispatcher.start(generation_id, delay=delay)  # claims after this transaction commits
    return len(rows)
