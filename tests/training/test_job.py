"""The training job's side of storage and reporting, without Ray: what it stores after a resumed run, what a
stopped run leaves, and how the API's answer to a cancelled run's report stops it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from core.contracts import TrainingImage, TrainingJobRequest
from core.storage import LocalObjectStore
from tests.helpers import tiny_training_recipe
from training_jobs.job import ApiReporter, _store_kept_outputs, discard_outputs
from training_jobs.train import Manifest, Progress

PREFIX = "private/styles/1/runs/2/"
REQUEST = TrainingJobRequest(run_id=2, style_id=1, trigger_tag="ink", base_model="tiny",
                             images=[TrainingImage(key="private/a.png", caption="ink")],
                             recipe=tiny_training_recipe(), output_prefix=PREFIX, callback_url="http://api")


def _store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "objects", url_prefix="/media", signing_key="k" * 32, default_ttl_seconds=60)


def _put(store, key: str, data: bytes) -> None:
    asyncio.run(store.put(key, data, content_type="application/octet-stream"))


def _manifest(outputs: list[dict]) -> Manifest:
    fields = {name: None for name in Manifest.__dataclass_fields__}
    return Manifest(**fields | {"epoch_outputs": outputs})


def test_a_resumed_run_stores_what_it_missed_and_no_dropped_adapter(tmp_path):
    output = tmp_path / "output"
    for relative in ("epochs/epoch-002.safetensors", "epochs/epoch-003.safetensors", "samples/epoch-003-0.png"):
        (output / relative).parent.mkdir(parents=True, exist_ok=True)
        (output / relative).write_bytes(relative.encode())
    store = _store(tmp_path)
    _put(store, PREFIX + "epochs/epoch-001.safetensors", b"dropped while the job was down")
    _put(store, PREFIX + "epochs/epoch-002.safetensors", b"stored before the crash")
    manifest = _manifest([
        {"epoch": 1, "samples": [], "adapter": None},
        {"epoch": 2, "samples": [], "adapter": "epochs/epoch-002.safetensors"},
        {"epoch": 3, "samples": ["samples/epoch-003-0.png"], "adapter": "epochs/epoch-003.safetensors"},
    ])

    _store_kept_outputs(store, output, manifest, lambda path: PREFIX + path.relative_to(output).as_posix())

    assert sorted(asyncio.run(store.list(PREFIX))) == [
        PREFIX + "epochs/epoch-002.safetensors", PREFIX + "epochs/epoch-003.safetensors",
        PREFIX + "samples/epoch-003-0.png"]
    assert asyncio.run(store.get(PREFIX + "epochs/epoch-002.safetensors")) == b"stored before the crash"  # not resent
    assert asyncio.run(store.get(PREFIX + "epochs/epoch-003.safetensors")) == b"epochs/epoch-003.safetensors"


def test_a_stopped_run_leaves_neither_work_files_nor_stored_objects(tmp_path):
    store, work_dir = _store(tmp_path), tmp_path / "run-2"
    (work_dir / "images").mkdir(parents=True)
    (work_dir / "images" / "000.png").write_bytes(b"an artist's image")
    _put(store, PREFIX + "samples/epoch-001-0.png", b"sample")
    _put(store, "private/styles/1/runs/3/samples/epoch-001-0.png", b"another run's")

    discard_outputs(store, REQUEST, work_dir)

    assert not work_dir.exists()
    assert asyncio.run(store.list("private/")) == ["private/styles/1/runs/3/samples/epoch-001-0.png"]


def test_the_apis_conflict_on_a_progress_report_means_cancelled(tmp_path):
    answers = {"progress": 200}
    transport = httpx.MockTransport(lambda request: httpx.Response(answers[request.url.path.rsplit("/", 1)[1]]))
    reporter = ApiReporter(REQUEST, "token", client=httpx.Client(transport=transport))
    progress = Progress(epoch=1, total_epochs=2, step=1, total_steps=4, loss=0.1, elapsed_seconds=1.0,
                        steps_this_run=1)
    reporter.progress(progress, force=True)
    assert not reporter.cancelled
    answers["progress"] = 409
    reporter.progress(progress, force=True)
    assert reporter.cancelled
