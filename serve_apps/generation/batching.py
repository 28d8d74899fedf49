"""One replica's pipeline, used by one thread at a time, drawing requests that arrive together in one call.

Everything that touches the pipeline (drawing, loading and removing adapters) runs on a single worker
thread, so adapter state never changes under a running batch and the event loop stays free to stream
progress. Requests queue on the event loop; whenever the thread is free, the oldest request and every
queued request that can share its call (same size, steps and guidance; any style) are drawn together, up
to `max_batch_size`. An idle replica first waits `batch_wait_seconds` for company.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TypeVar

from PIL import Image

from serve_apps.generation.pipeline import ImageRequest, StylePipeline

T = TypeVar("T")


@dataclass(frozen=True)
class StepDone:
    step: int
    total: int


@dataclass(frozen=True)
class Drawn:
    image: Image.Image
    queued_seconds: float  # from submission to the start of its batch
    drawing_seconds: float  # the whole batch's pipeline call
    batch_size: int


@dataclass(eq=False)
class _Pending:
    row: ImageRequest
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    submitted: float = field(default_factory=time.monotonic)


class BatchRunner:
    def __init__(self, pipeline: StylePipeline, *, max_batch_size: int = 8, batch_wait_seconds: float = 0.02):
        self.pipeline = pipeline
        self.max_batch_size = max_batch_size
        self.batch_wait_seconds = batch_wait_seconds
        self.batch_sizes: Counter[int] = Counter()  # batches drawn, by size: for diagnostics and tests
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pipeline")
        self._queue: list[_Pending] = []
        self._worker: asyncio.Task | None = None

    async def call(self, function: Callable[..., T], *args) -> T:
        """Run `function(pipeline, *args)` on the pipeline thread, between batches."""
        return await asyncio.get_running_loop().run_in_executor(self._thread, function, self.pipeline, *args)

    async def draw(self, row: ImageRequest) -> AsyncIterator[StepDone | Drawn]:
        """Steps as they complete, then the image; the batch's error, if it fails, is raised here."""
        pending = _Pending(row)
        self._queue.append(pending)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._work())
        try:
            while True:
                event = await pending.events.get()
                if isinstance(event, BaseException):
                    raise event
                yield event
                if isinstance(event, Drawn):
                    return
        finally:
            if pending in self._queue:  # given up before its batch started: it is not drawn
                self._queue.remove(pending)

    def close(self) -> None:
        if self._worker is not None:
            self._worker.cancel()
        self._thread.shutdown(wait=False, cancel_futures=True)

    async def _work(self) -> None:
        while self._queue:
            if len(self._queue) < self.max_batch_size and self.batch_wait_seconds:
                await asyncio.sleep(self.batch_wait_seconds)
            batch = self._take_batch()
            if batch:
                await self._draw(batch)

    def _take_batch(self) -> list[_Pending]:
        if not self._queue:
            return []
        key = self._queue[0].row.batch_key
        batch = [p for p in self._queue if p.row.batch_key == key][: self.max_batch_size]
        for pending in batch:
            self._queue.remove(pending)
        return batch

    async def _draw(self, batch: list[_Pending]) -> None:
        loop = asyncio.get_running_loop()

        def on_step(step: int, total: int) -> None:  # on the pipeline thread
            for pending in batch:
                loop.call_soon_threadsafe(pending.events.put_nowait, StepDone(step, total))

        started = time.monotonic()
        self.batch_sizes[len(batch)] += 1
        try:
            images = await loop.run_in_executor(
                self._thread, self.pipeline.generate, [p.row for p in batch], on_step
            )
        except Exception as error:
            for pending in batch:
                pending.events.put_nowait(error)
            return
        seconds = time.monotonic() - started
        for pending, image in zip(batch, images, strict=True):
            pending.events.put_nowait(Drawn(image, started - pending.submitted, seconds, len(batch)))
