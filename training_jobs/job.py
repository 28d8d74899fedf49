"""The training job as Ray runs it: fetch the images, train, upload, and report to the API.

It holds no database credentials: progress and the outcome go to the API's internal endpoints with
INTERNAL_API_TOKEN, and the API decides every state change.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import httpx

from core.contracts import TrainingCompletion, TrainingFailure, TrainingJobRequest, TrainingProgressReport
from core.diffusion import Device
from core.storage import ObjectStore
from core.storage_keys import EPOCH_ADAPTERS
from training_jobs.train import (
    MANIFEST_FILE,
    EpochOutput,
    Manifest,
    Progress,
    TrainingExample,
    TrainingSpec,
    epoch_adapter,
    train_lora,
)

log = logging.getLogger(__name__)

# The spec asks for a report at least every 30 s; more often costs nothing.
REPORT_EVERY_SECONDS = 10.0


class ApiReporter:
    """Posts progress (throttled) and the outcome to the API; a failed report is logged, never fatal. The API
    answers a progress report of a cancelled run with 409: `cancelled` then stops training."""

    def __init__(self, request: TrainingJobRequest, token: str, *, client: httpx.Client | None = None):
        self.base = f"{request.callback_url.rstrip('/')}/api/v1/internal/training-runs/{request.run_id}"
        self.http = client or httpx.Client(timeout=15, headers={
            "Authorization": f"Bearer {token}", "X-Request-Source": "training-job",
        })
        self._last_sent = 0.0
        self._lock = threading.Lock()
        self.cancelled = False

    def _post(self, path: str, message) -> httpx.Response | None:
        for attempt in range(3):
            try:
                response = self.http.post(f"{self.base}/{path}", json=message.model_dump())
                if response.status_code < 500:
                    return response
            except httpx.HTTPError as exc:
                log.warning("report failed", extra={"path": path, "error": repr(exc)})
            time.sleep(1 + attempt * 2)
        return None

    def progress(self, progress: Progress, sample_keys: list[str] | None = None, *, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._last_sent < REPORT_EVERY_SECONDS:
                return
            self._last_sent = time.monotonic()
        response = self._post("progress", TrainingProgressReport(
            current_epoch=progress.epoch,
            total_epochs=progress.total_epochs, progress_percent=progress.percent,
            estimated_seconds=progress.eta_seconds, sample_keys=sample_keys or [],
        ))
        if response is not None and response.status_code == httpx.codes.CONFLICT:
            self.cancelled = True

    def complete(self, completion: TrainingCompletion) -> bool:
        response = self._post("complete", completion)
        return response is not None and response.is_success

    def fail(self, reason: str) -> bool:
        response = self._post("fail", TrainingFailure(reason=reason[:2000]))
        return response is not None and response.is_success


def _upload(store: ObjectStore, key: str, path: Path, content_type: str) -> str:
    asyncio.run(store.put(key, path.read_bytes(), content_type=content_type))
    return key


def run_training_job(request: TrainingJobRequest, store: ObjectStore, reporter: ApiReporter, work_dir: Path,
                     device: Device | None = None) -> None:
    """Train and publish one run. The work dir keeps checkpoints, so a job started again for this run on this
    node resumes (a stopped one deletes it: __main__)."""
    images_dir = work_dir / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    examples = []
    for index, image in enumerate(request.images):
        path = images_dir / f"{index:03d}.png"
        if not path.exists():
            path.write_bytes(asyncio.run(store.get(image.key)))
        examples.append(TrainingExample(path, image.caption))

    spec = TrainingSpec(base_model=request.base_model, examples=examples, output_dir=work_dir / "output",
                        trigger_tag=request.trigger_tag, recipe=request.recipe, seed=request.seed)
    last_progress: list[Progress] = []

    def on_progress(progress: Progress) -> None:
        last_progress[:] = [progress]
        reporter.progress(progress)

    def key(path: Path) -> str:
        return f"{request.output_prefix}{path.relative_to(spec.output_dir).as_posix()}"

    def on_epoch_end(output: EpochOutput) -> None:
        if output.adapter is not None:
            _upload(store, key(output.adapter), output.adapter, "application/octet-stream")
        keys = [_upload(store, key(path), path, "image/png") for path in output.samples]
        for dropped in output.dropped_adapters:  # pushed out of the kept epochs by better ones
            asyncio.run(store.delete(key(dropped)))
        if last_progress:
            reporter.progress(last_progress[0], keys, force=True)

    manifest = train_lora(spec, on_progress=on_progress, on_epoch_end=on_epoch_end,
                          should_stop=lambda: reporter.cancelled, device=device)
    if manifest.resumed_from_epoch:  # an uninterrupted run stored each epoch's outputs as it went
        _store_kept_outputs(store, spec.output_dir, manifest, key)
    manifest_key = _upload(store, key(spec.output_dir / MANIFEST_FILE), spec.output_dir / MANIFEST_FILE,
                           "application/json")
    reported = reporter.complete(TrainingCompletion(
        adapter_key=key(epoch_adapter(spec.output_dir, manifest.best_epoch)), manifest_key=manifest_key,
        manifest=asdict(manifest), sample_keys=[f"{request.output_prefix}{sample}" for sample in manifest.samples],
    ))
    if reported:
        shutil.rmtree(work_dir, ignore_errors=True)  # everything worth keeping is in storage now


def _store_kept_outputs(store: ObjectStore, output_dir: Path, manifest: Manifest,
                        key: Callable[[Path], str]) -> None:
    """Every kept adapter and every sample in storage, and no other adapter, for a resumed run: one that
    crashed between an epoch's checkpoint and its uploads missed that epoch's. What is stored is not sent
    again."""
    wanted = {}
    for output in manifest.epoch_outputs:
        for relative in [*output["samples"], *([output["adapter"]] if output["adapter"] else [])]:
            wanted[key(output_dir / relative)] = output_dir / relative
    for object_key, path in wanted.items():
        if asyncio.run(store.head(object_key)) is None:
            _upload(store, object_key, path, "image/png" if path.suffix == ".png" else "application/octet-stream")
    adapters = key(output_dir / EPOCH_ADAPTERS) + "/"
    for stray in set(asyncio.run(store.list(adapters))) - set(wanted):
        asyncio.run(store.delete(stray))


def discard_outputs(store: ObjectStore, request: TrainingJobRequest, work_dir: Path) -> None:
    """A stopped run's files: its work dir (the artist's images, checkpoints) and all it stored."""
    shutil.rmtree(work_dir, ignore_errors=True)
    for stored in asyncio.run(store.list(request.output_prefix)):
        asyncio.run(store.delete(stored))


def work_dir_for(request: TrainingJobRequest, root: str | None) -> Path:
    """Per run, so a retried job on the same node finds its checkpoints."""
    return Path(root or Path(tempfile.gettempdir()) / "style-license-training") / f"run-{request.run_id}"
