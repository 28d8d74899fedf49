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
from dataclasses import asdict
from pathlib import Path

import httpx

from core.contracts import TrainingCompletion, TrainingFailure, TrainingJobRequest, TrainingProgressReport
from core.diffusion import Device
from core.storage import ObjectStore
from training_jobs.train import (
    MANIFEST_FILE,
    EpochOutput,
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
    """Posts progress (throttled) and the outcome to the API; a failed report is logged, never fatal."""

    def __init__(self, request: TrainingJobRequest, token: str, *, client: httpx.Client | None = None):
        self.base = f"{request.callback_url.rstrip('/')}/api/v1/internal/training-runs/{request.run_id}"
        self.http = client or httpx.Client(timeout=15, headers={
            "Authorization": f"Bearer {token}", "X-Request-Source": "training-job",
        })
        self._last_sent = 0.0
        self._lock = threading.Lock()

    def _post(self, path: str, message) -> bool:
        for attempt in range(3):
            try:
                response = self.http.post(f"{self.base}/{path}", json=message.model_dump())
                if response.status_code < 500:
                    return response.is_success
            except httpx.HTTPError as exc:
                log.warning("report failed", extra={"path": path, "error": repr(exc)})
            time.sleep(1 + attempt * 2)
        return False

    def progress(self, progress: Progress, sample_keys: list[str] | None = None, *, force: bool = False) -> None:
        with self._lock:
            if not force and time.monotonic() - self._last_sent < REPORT_EVERY_SECONDS:
                return
            self._last_sent = time.monotonic()
        self._post("progress", TrainingProgressReport(
            current_epoch=progress.epoch,
            total_epochs=progress.total_epochs, progress_percent=progress.percent,
            estimated_seconds=progress.eta_seconds, sample_keys=sample_keys or [],
        ))

    def complete(self, completion: TrainingCompletion) -> bool:
        return self._post("complete", completion)

    def fail(self, reason: str) -> bool:
        return self._post("fail", TrainingFailure(reason=reason[:2000]))


def _upload(store: ObjectStore, key: str, path: Path, content_type: str) -> str:
    asyncio.run(store.put(key, path.read_bytes(), content_type=content_type))
    return key


def run_training_job(request: TrainingJobRequest, store: ObjectStore, reporter: ApiReporter, work_dir: Path,
                     device: Device | None = None) -> None:
    """Train and publish one run. The work dir keeps checkpoints, so a retry on this node resumes."""
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

    manifest = train_lora(spec, on_progress=on_progress, on_epoch_end=on_epoch_end, device=device)
    manifest_key = _upload(store, key(spec.output_dir / MANIFEST_FILE), spec.output_dir / MANIFEST_FILE,
                           "application/json")
    reported = reporter.complete(TrainingCompletion(
        adapter_key=key(epoch_adapter(spec.output_dir, manifest.best_epoch)), manifest_key=manifest_key,
        manifest=asdict(manifest), sample_keys=[f"{request.output_prefix}{sample}" for sample in manifest.samples],
    ))
    if reported:
        shutil.rmtree(work_dir, ignore_errors=True)  # everything worth keeping is in storage now


def work_dir_for(request: TrainingJobRequest, root: str | None) -> Path:
    """Per run, so a retried job on the same node finds its checkpoints."""
    return Path(root or Path(tempfile.gettempdir()) / "style-license-training") / f"run-{request.run_id}"
