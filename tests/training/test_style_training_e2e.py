"""End to end on a real local Ray cluster: an artist uploads 10 images, a Ray job trains the LoRA on the tiny
model (of each family: SD 1.x and SDXL) and reports progress to the API over HTTP, the adapter lands in
storage, the style completes and the artist is notified, and a fan's generation with the new style comes back
from Serve signed; a job stopped mid-run ends as failed, also notified."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import torch
from fastapi.testclient import TestClient
from ray import serve
from ray.job_submission import JobSubmissionClient
from sqlalchemy import select

from core import storage_keys
from core.contracts import GENERATION_APP_NAME
from core.diffusion import Device, load_pipeline
from core.diffusion.families import family_of_pretrained
from core.provenance_keys import load_provenance_keys
from core.settings import DiffusionSettings, Settings
from core.storage import create_object_store
from core.verification import CredentialState, verify_image
from db.models import Notification, Style, TrainingRun
from platform_api.app import RECONCILERS, create_app
from platform_api.background import run_once
from tests.helpers import finished_generation, tiny_model_of, tiny_training_recipe, until
from tests.serving.conftest import deploy_generation_app
from tests.stubs.server import BackgroundServer
from tests.training.conftest import training_images
from training_jobs.train import ADAPTER_FILE


@pytest.fixture
def base_model(request) -> str:
    """The tiny model of the family a test is parametrized with (SD 1.x unless it says otherwise)."""
    return tiny_model_of(request, getattr(request, "param", "sd1"))


@pytest.fixture
def stack(settings: Settings, base_model: str, ray_dashboard: str, clean_database) -> Iterator[tuple[str, Settings]]:
    """The API as a real server the Ray job can call back, pointed at the session's Ray cluster."""
    port = ray_dashboard.rsplit(":", 1)[1]
    settings.ray.dashboard_port = int(port)
    settings.ray.job_python = sys.executable
    settings.ray.job_torch_threads = 1
    settings.ray.job_niceness = 10  # as `make run` trains: after the API's requests
    settings.ray.job_work_dir = str(settings.app.data_dir / "training-work")
    settings.diffusion = DiffusionSettings(base_model=base_model, training=tiny_training_recipe(), inference_steps=2)
    app = create_app(settings)
    with BackgroundServer(app, lifespan=True) as server:
        settings.app.public_url = server.url
        yield server.url, settings


def _artist(api: httpx.Client) -> dict[str, str]:
    api.post("/api/v1/auth/dev-login", json={"email": "painter@example.com"}).raise_for_status()
    headers = {"X-CSRF-Token": api.cookies["sl_csrf"]}
    signature = training_images(1, size=64)[0]
    api.post("/api/v1/users/me/upgrade-to-artist", data={"artist_name": "Painter", "verified_email": "p@example.com"},
             files={"signature_image": ("sig.png", signature, "image/png")}, headers=headers).raise_for_status()
    return headers


def _create_style(api: httpx.Client, headers: dict, title: str = "Ink Wash") -> dict:
    files = [("images", (f"art-{i}.png", data, "image/png")) for i, data in enumerate(training_images(10))]
    tags = json.dumps([["mountain", f"scene {i}"] for i in range(10)])
    response = api.post("/api/v1/styles", data={"title": title, "description": "Misty hills.",
                                                "generation_cost_tokens": "5", "tags": tags},
                        files=files, headers=headers, timeout=120)
    assert response.status_code == 202, response.text
    return response.json()["data"]


def _wait_for(api: httpx.Client, style_id: int, done, timeout: float = 240) -> tuple[dict, list[dict]]:
    progress_seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        style = api.get(f"/api/v1/styles/{style_id}").json()["data"]
        if style["progress"]:
            progress_seen.append(style["progress"])
        if done(style):
            return style, progress_seen
        time.sleep(0.3)
    raise AssertionError(f"style {style_id} never got there: {style}")


@pytest.mark.parametrize("base_model", ["sd1", "sdxl"], indirect=True)
def test_uploaded_images_become_a_trained_style_that_draws(stack, db):
    url, settings = stack
    with httpx.Client(base_url=url, timeout=30) as api:
        headers = _artist(api)
        created = _create_style(api, headers)
        assert created["training_status"] == "pending" and created["training_image_count"] == 10
        assert "ink wash" in created["tags"] and "mountain" in created["tags"]

        style, _ = _wait_for(api, created["id"], lambda s: s["training_status"] in ("completed", "failed"))
        assert style["training_status"] == "completed", style
        assert style["progress"] is None and style["trained_at"]
        assert len(style["sample_image_urls"]) == 2 and api.get(style["sample_image_urls"][0]).status_code == 200
        # The job's held-out scores, as its artist reads them.
        scores = style["training_scores"]
        assert [epoch["epoch"] for epoch in scores["epochs"]] == [1, 2] and scores["base_heldout_loss"] > 0
        assert all(epoch["heldout_loss"] > 0 and epoch["training_loss"] > 0 for epoch in scores["epochs"])

    stored = db.scalars(select(Style)).one()
    store = create_object_store(settings.storage)
    adapter = asyncio.run(store.get(stored.adapter_key))
    run = db.scalars(select(TrainingRun)).one()
    # The job's last report (training may finish between two polls of this test; the stop test sees it live).
    assert run.progress["total_epochs"] == 2 and run.progress["progress_percent"] == 100
    manifest = json.loads(asyncio.run(store.get(run.manifest["manifest_key"])))
    # One image in ten is held out to score each epoch: nine train, one step each per epoch.
    assert manifest["steps"] == 18 and manifest["images"] == 10 and len(manifest["loss_per_epoch"]) == 2
    assert manifest["heldout_images"] == 1 and len(manifest["heldout_loss_per_epoch"]) == 2
    # Ready with the best epoch: its adapter is the style's, and the notification names it.
    best = manifest["best_epoch"]
    assert best == 1 + manifest["heldout_loss_per_epoch"].index(min(manifest["heldout_loss_per_epoch"]))
    assert stored.adapter_key == f"{storage_keys.training_run(stored.id, run.id)}epochs/epoch-00{best}.safetensors"
    notification = db.scalars(select(Notification)).one()
    assert (notification.type, notification.data) == ("style_training_complete", {"style_id": stored.id,
                                                                                  "style_title": "Ink Wash",
                                                                                  "epoch": best})
    assert manifest["family"] == family_of_pretrained(settings.diffusion.base_model).name
    _assert_adapter_changes_the_output(settings.diffusion.base_model, adapter, stack_dir=settings.app.data_dir)
    _assert_a_fan_draws_with_it(url, settings, stored.id)


def _assert_a_fan_draws_with_it(url: str, settings: Settings, style_id: int) -> None:
    serve.start(proxy_location="Disabled")
    deploy_generation_app(settings)
    try:
        with httpx.Client(base_url=url, timeout=30) as fan:
            fan.post("/api/v1/auth/dev-login", json={"email": "fan@example.com"}).raise_for_status()
            response = fan.post("/api/v1/generations", headers={"X-CSRF-Token": fan.cookies["sl_csrf"]},
                                json={"style_id": style_id, "prompt_tags": ["lake"], "aspect_ratio": "1:2"})
            assert response.status_code == 202, response.text
            generation = finished_generation(fan, response.json()["data"]["id"])
            assert generation["status"] == "completed", generation
            assert (generation["width"], generation["height"]) == (512, 1024)
            proof = verify_image(fan.get(generation["image_url"]).content, keys=load_provenance_keys(settings))
            assert proof.credentials.state in (CredentialState.valid, CredentialState.trusted)
            assert proof.watermark_generation_id == generation["id"] and proof.metadata.style_id == style_id
    finally:
        serve.delete(GENERATION_APP_NAME)


def _assert_adapter_changes_the_output(model: str, adapter: bytes, stack_dir) -> None:
    directory = stack_dir / "downloaded-adapter"
    directory.mkdir(parents=True)
    (directory / ADAPTER_FILE).write_bytes(adapter)
    cpu = Device("cpu", torch.float32)

    def image(with_adapter: bool):
        pipeline = load_pipeline(model, cpu)
        if with_adapter:
            pipeline.load_lora_weights(directory, weight_name=ADAPTER_FILE)
        return pipeline("ink wash, mountain", num_inference_steps=2, height=64, width=64, output_type="np",
                        generator=torch.Generator().manual_seed(0)).images[0]

    assert not (image(True) == image(False)).all()


def test_a_stopped_job_fails_the_style_and_tells_the_artist(stack, ray_dashboard, db):
    url, settings = stack
    settings.diffusion.training = tiny_training_recipe(epochs=200)  # long enough to stop it in the middle
    with httpx.Client(base_url=url, timeout=30) as api:
        created = _create_style(api, _artist(api), title="Charcoal")
        style, progress_seen = _wait_for(api, created["id"], lambda s: s["training_status"] == "training")
        assert style["progress"]["total_epochs"] == 200 and 0 <= style["progress"]["progress_percent"] < 100
        assert {"current_epoch", "estimated_seconds", "last_updated"} <= style["progress"].keys()
        [job] = [process for process in psutil.process_iter(["cmdline"])
                 if process.info["cmdline"] and process.info["cmdline"][1:] == ["-m", "training_jobs"]]
        assert job.nice() == 10
        run = db.scalars(select(TrainingRun)).one()
        jobs = JobSubmissionClient(ray_dashboard)
        assert jobs.stop_job(run.submission_id)
        deadline = time.monotonic() + 60
        while str(jobs.get_job_status(run.submission_id).value) != "STOPPED":
            assert time.monotonic() < deadline
            time.sleep(0.3)

        with TestClient(create_app(settings)) as operator:
            reconciler = next(r for r in RECONCILERS if r.name == "training_runs")
            assert operator.portal.call(run_once, operator.app, reconciler) == 1

        style = api.get(f"/api/v1/styles/{created['id']}").json()["data"]
        assert style["training_status"] == "failed" and "stopped" in style["training_error"]
    db.expire_all()
    assert db.scalars(select(Notification.type)).all() == ["style_training_failed"]


def test_an_artist_cancels_training_and_trains_the_style_again(stack, ray_dashboard, db):
    url, settings = stack
    settings.diffusion.training = tiny_training_recipe(epochs=200)  # still training when it is cancelled
    store, jobs = create_object_store(settings.storage), JobSubmissionClient(ray_dashboard)

    def running_run_with_samples() -> TrainingRun | None:
        db.expire_all()
        run = db.scalars(select(TrainingRun).where(TrainingRun.status == "running")).one_or_none()
        return run if run is not None and run.progress.get("sample_keys") else None

    def cancel(api: httpx.Client, headers: dict, style_id: int) -> httpx.Response:
        return api.post(f"/api/v1/styles/{style_id}/training/cancel", headers=headers)

    with httpx.Client(base_url=url, timeout=30) as api:
        headers = _artist(api)
        style_id = _create_style(api, headers, title="Pastel")["id"]
        run = until(running_run_with_samples, 240, "an epoch's samples")
        work_dir, stored = Path(settings.ray.job_work_dir) / f"run-{run.id}", storage_keys.training_run(style_id, run.id)
        assert work_dir.exists() and asyncio.run(store.list(stored))

        cancelled = cancel(api, headers, style_id)
        assert cancelled.status_code == 200, cancelled.text
        style = cancelled.json()["data"]
        assert style["training_status"] == "failed" and style["training_error"] == "cancelled by the artist"
        assert style["progress"] is None
        until(lambda: str(jobs.get_job_status(run.submission_id).value) == "STOPPED", 60, "the job to stop")
        until(lambda: not work_dir.exists(), 60, "the job to remove its work files")
        assert asyncio.run(store.list(stored)) == []
        again = cancel(api, headers, style_id)
        assert again.status_code == 409 and again.json()["error"]["code"] == "CONFLICT"
        with TestClient(create_app(settings)) as operator:  # a cancelled run is finished: nothing to reconcile
            reconciler = next(r for r in RECONCILERS if r.name == "training_runs")
            assert operator.portal.call(run_once, operator.app, reconciler) == 0

        retrained = api.post(f"/api/v1/styles/{style_id}/retrain", headers=headers)
        assert retrained.status_code == 202 and retrained.json()["data"]["training_status"] == "pending"
        second = until(running_run_with_samples, 240, "the second run's samples")
        assert second.id != run.id and cancel(api, headers, style_id).status_code == 200
        until(lambda: str(jobs.get_job_status(second.submission_id).value) == "STOPPED", 60, "the second job to stop")

    db.expire_all()
    assert [(r.status, r.error_message) for r in db.scalars(select(TrainingRun).order_by(TrainingRun.id))] == [
        ("cancelled", "cancelled by the artist")] * 2
    assert db.scalars(select(Notification.type)).all() == []  # the artist did it: nothing to tell them
