"""A generation request on a replica, from job to signed image: plain Python, no Ray (the deployment in
`app.py` wraps it; tests and the benchmark drive it directly).

`generate` streams `GenerationProgress` dicts as denoising steps complete (at most one per
`progress_interval_seconds`, and the last step always), then one `GenerationResult` dict: the keys of the
signed image and its thumbnail. The unsigned image never leaves this process. A request that can never
succeed (its adapter or the artist's signature is missing, its size cannot be drawn or signed) raises
`GenerationRejected`; anything else propagates and the API retries it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import torch
from PIL import Image

from core.contracts import GenerationJob, GenerationProgress, GenerationRejected, GenerationResult
from core.diffusion import Device, resolve_base_model
from core.diffusion.families import render_size
from core.diffusion.lora import AdapterMismatch
from core.image_format import ImageFormat
from core.provenance import publish_generated_image
from core.provenance_info import ProvenanceInfo
from core.provenance_keys import ProvenanceKeys, load_provenance_keys
from core.settings import ProvenanceSettings, Settings
from core.signature import ArtistMark, artist_mark
from core.storage import ObjectNotFound, ObjectStore, create_object_store
from core.storage_keys import InvalidObjectKey
from core.watermark import CANONICAL_SHORT_SIDE
from serve_apps.generation.adapters import AdapterCache
from serve_apps.generation.batching import BatchRunner, Drawn, StepDone
from serve_apps.generation.config import GenerationAppConfig
from serve_apps.generation.pipeline import ImageRequest, StylePipeline

log = logging.getLogger(__name__)

# The latent grid of SD's VAE: sides must be multiples of this.
LATENT_SCALE = 8


class LoadedStyle:
    """A style's adapter loaded into this replica's pipeline: what the multiplexed loader hands to Serve.

    Serve calls `__del__` when it evicts the style from the replica (on a worker thread); the adapter leaves
    the pipeline once no request is still drawing with it. Every load gets its own adapter name, so a
    style evicted and loaded again at once never collides with its old copy."""

    def __init__(self, key: str, name: str, release: Callable[[str], None]):
        self.key = key
        self.name = name
        self._release = release
        self._released = False

    def __del__(self) -> None:
        if not self._released:
            self._released = True
            self._release(self.name)


StyleLoader = Callable[[str], Awaitable[LoadedStyle]]


class GenerationServer:
    def __init__(self, *, store: ObjectStore, adapters: AdapterCache, runner: BatchRunner, keys: ProvenanceKeys,
                 provenance: ProvenanceSettings, max_image_pixels: int = 1024 * 1024,
                 progress_interval_seconds: float = 0.25):
        self.store = store
        self.adapters = adapters
        self.runner = runner
        self.keys = keys
        self.provenance = provenance
        self.image_format = ImageFormat(provenance.generated_image_format.value)
        self.max_image_pixels = max_image_pixels
        self.progress_interval_seconds = progress_interval_seconds
        self.style_loads: Counter[str] = Counter()  # adapter key -> times loaded into the pipeline
        self._names = itertools.count(1)
        self._resident: dict[str, str] = {}  # adapter name -> adapter key, while Serve holds the style
        self._drawing: Counter[str] = Counter()  # adapter name -> requests using it now
        self._evicted: set[str] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task] = set()

    @classmethod
    def from_settings(cls, settings: Settings, config: GenerationAppConfig,
                      device: Device | None = None) -> GenerationServer:
        """A replica's server: storage and signing keys from `settings`, the base model loaded now."""
        if config.torch_threads:
            torch.set_num_threads(config.torch_threads)
        model = resolve_base_model(settings.diffusion.base_model, config.models_dir)
        store = create_object_store(settings.storage)
        return cls(
            store=store,
            adapters=AdapterCache(store, config.adapter_cache_dir, attempts=config.adapter_download_attempts,
                                  backoff_seconds=config.adapter_retry_backoff_seconds,
                                  max_bytes=config.adapter_cache_max_bytes),
            runner=BatchRunner(StylePipeline.load(model, device or Device.best(settings.diffusion.precision)),
                               max_batch_size=config.max_batch_size,
                               batch_wait_seconds=config.batch_wait_seconds),
            keys=load_provenance_keys(settings),
            provenance=settings.provenance,
            max_image_pixels=config.max_image_pixels,
            progress_interval_seconds=config.progress_interval_seconds,
        )

    async def load_style(self, adapter_key: str) -> LoadedStyle:
        """Download (once) and load the style's adapter into the pipeline."""
        self._loop = asyncio.get_running_loop()
        try:
            path = await self.adapters.fetch(adapter_key)
        except (ObjectNotFound, InvalidObjectKey) as missing:
            raise GenerationRejected(f"the style's adapter is missing: {adapter_key}") from missing
        name = f"style_{next(self._names)}"
        try:
            await self.runner.call(StylePipeline.add_adapter, name, path)
        except AdapterMismatch as mismatch:
            log.error("style refused: %s", mismatch, extra={"adapter": adapter_key})
            raise GenerationRejected(str(mismatch)) from mismatch
        except Exception:
            self.adapters.discard(adapter_key)  # a damaged copy is downloaded afresh by the retry
            raise
        self.style_loads[adapter_key] += 1
        self._resident[name] = adapter_key
        return LoadedStyle(adapter_key, name, self._release_from_any_thread)

    async def generate(self, job: GenerationJob, load_style: StyleLoader) -> AsyncIterator[dict]:
        """Progress dicts, then the result dict. `load_style` is the replica's style cache (Serve's
        multiplexed loader on a replica; `load_style` itself where nothing is cached)."""
        self._check_possible(job)
        started = time.monotonic()
        style = await load_style(job.adapter_key)
        # Held from here on: evicting the style now waits until this request has drawn.
        self._drawing[style.name] += 1
        try:
            timings = {"adapter": time.monotonic() - started}
            mark = await self._artist_mark(job)
            yield GenerationProgress(current_step=0, total_steps=job.steps).model_dump(mode="json")
            drawn: Drawn | None = None
            last_sent = time.monotonic()
            async for event in self.runner.draw(self._row(job, style)):
                if isinstance(event, StepDone):
                    now = time.monotonic()
                    if event.step == event.total or now - last_sent >= self.progress_interval_seconds:
                        last_sent = now
                        yield GenerationProgress(current_step=event.step, total_steps=event.total).model_dump(
                            mode="json")
                elif isinstance(event, Drawn):
                    drawn = event
        finally:
            self._done_drawing(style.name)
        timings |= {"queue": drawn.queued_seconds, "diffusion": drawn.drawing_seconds}
        image = drawn.image
        if image.size != (job.width, job.height):  # off the event loop: tens of ms at 1024²
            image = await asyncio.to_thread(image.resize, (job.width, job.height), Image.Resampling.LANCZOS)

        published = time.monotonic()
        stored = await publish_generated_image(self.store, image, self._provenance(job), mark=mark,
                                               keys=self.keys, image_format=self.image_format)
        timings["signing_and_upload"] = time.monotonic() - published
        timings["total"] = time.monotonic() - started
        yield GenerationResult(image_key=stored.image, thumbnail_key=stored.thumbnail, width=job.width,
                               height=job.height, timings={k: round(v, 4) for k, v in timings.items()},
                               ).model_dump(mode="json")

    def describe(self) -> dict:
        """What this replica holds, for diagnostics and tests."""
        return {
            "styles": sorted(set(self._resident.values())),
            "style_loads": dict(self.style_loads),
            "adapters_in_pipeline": len(self.runner.pipeline.adapters),
            "adapter_downloads": self.adapters.downloads,
            "batch_sizes": dict(self.runner.batch_sizes),
        }

    def close(self) -> None:
        self.runner.close()

    def _check_possible(self, job: GenerationJob) -> None:
        width, height = job.width, job.height
        if width % LATENT_SCALE or height % LATENT_SCALE:
            raise GenerationRejected(f"{width}×{height}: sides must be multiples of {LATENT_SCALE}")
        if min(width, height) < CANONICAL_SHORT_SIDE:
            raise GenerationRejected(f"{width}×{height}: the watermark needs a short side of at least "
                                     f"{CANONICAL_SHORT_SIDE} px")
        if width * height > self.max_image_pixels:
            raise GenerationRejected(f"{width}×{height} is more than {self.max_image_pixels} pixels")

    async def _artist_mark(self, job: GenerationJob) -> ArtistMark:
        if job.signature_key is None:
            return artist_mark(job.artist_name)
        try:
            signature = await self.store.get(job.signature_key)
        except (ObjectNotFound, InvalidObjectKey) as missing:
            raise GenerationRejected(f"the artist's signature is missing: {job.signature_key}") from missing
        return await asyncio.to_thread(artist_mark, job.artist_name, signature)

    def _row(self, job: GenerationJob, style: LoadedStyle) -> ImageRequest:
        """Drawn at the base's native pixel count in the job's aspect ratio (docs/serving.md, Render sizes),
        then resized to the job's size: requests of different sizes may share a batch."""
        width, height = render_size(job.width, job.height, self.runner.pipeline.native_side)
        return ImageRequest(adapter=style.name, prompt=job.prompt, negative_prompt=job.negative_prompt,
                            seed=job.seed, width=width, height=height, steps=job.steps,
                            guidance_scale=job.guidance_scale)

    def _provenance(self, job: GenerationJob) -> ProvenanceInfo:
        return ProvenanceInfo(
            artist_id=job.artist_id, artist_name=job.artist_name, style_id=job.style_id,
            style_title=job.style_title, generation_id=job.generation_id, seed=job.seed,
            created_at=job.created_at, platform=self.provenance.platform_name,
            licence=self.provenance.licence_text,
        )

    def _release_from_any_thread(self, name: str) -> None:
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            loop.call_soon_threadsafe(self._evict, name)
        except RuntimeError:  # the loop closed meanwhile: the replica is going away with its pipeline
            pass

    def _evict(self, name: str) -> None:
        self._resident.pop(name, None)
        self._evicted.add(name)
        if not self._drawing[name]:
            self._remove_later(name)

    def _done_drawing(self, name: str) -> None:
        self._drawing[name] -= 1
        if not self._drawing[name]:
            del self._drawing[name]
            if name in self._evicted:
                self._remove_later(name)

    def _remove_later(self, name: str) -> None:
        self._evicted.discard(name)
        task = asyncio.get_running_loop().create_task(self._remove(name))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _remove(self, name: str) -> None:
        try:
            await self.runner.call(StylePipeline.remove_adapter, name)
        except Exception:
            log.exception("could not remove an evicted adapter", extra={"adapter": name})
