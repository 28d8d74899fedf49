"""End to end on a real local Ray cluster with Serve: the API charges and queues a generation, dispatches it
to the generation application over its handle, and records the outcome — signed image stored, artist paid,
user notified — or, when the adapter is gone or was trained on another base, refunds and notifies; with Serve down at request time the
generation waits and completes once Serve is back. The ledger audit is clean after each."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from ray import serve
from sqlalchemy import select

from core.contracts import GENERATION_APP_NAME
from core.provenance_keys import load_provenance_keys
from core.settings import DiffusionSettings, Settings
from core.verification import CredentialState, verify_image
from db.models import Artist, Generation, Notification, User
from platform_api.app import create_app
from platform_api.tokens.audit import audit_database
from tests.factories import make_style
from tests.helpers import csrf_headers, dev_login, finished_generation
from tests.serving.conftest import deploy_generation_app
from tests.serving.styles import adapter_key


@pytest.fixture
def api(settings: Settings, tiny_model: str, ray_dashboard: str, clean_database) -> Iterator[TestClient]:
    settings.diffusion = DiffusionSettings(base_model=tiny_model, inference_steps=2)
    settings.generation.retry_delays_seconds = [0.0, 15.0, 15.0]
    serve.start(proxy_location="Disabled")
    with TestClient(create_app(settings)) as client:
        yield client
    serve.delete(GENERATION_APP_NAME)


@pytest.fixture
def style(db, api, style_adapters):
    style = make_style(db, title="Ink Wash", training_status="completed", generation_cost_tokens=10)
    style.adapter_key = adapter_key(style.id)
    db.commit()
    asyncio.run(api.app.state.object_store.put(style.adapter_key, style_adapters[1],
                                               content_type="application/octet-stream"))
    return style


def _generate(client, style_id: int, aspect_ratio: str = "1:1") -> int:
    response = client.post("/api/v1/generations", headers=csrf_headers(client),
                           json={"style_id": style_id, "prompt_tags": ["lake"], "aspect_ratio": aspect_ratio})
    assert response.status_code == 202, response.text
    return response.json()["data"]["id"]


def test_each_aspect_ratio_is_generated_signed_and_paid_for(api, settings, style, db, database_url):
    dev_login(api, "fan@example.com")
    deploy_generation_app(settings)
    keys = load_provenance_keys(settings)
    for aspect_ratio, size in (("1:1", (512, 512)), ("1:2", (512, 1024)), ("2:2", (1024, 1024))):
        generation = finished_generation(api, _generate(api, style.id, aspect_ratio))
        assert generation["status"] == "completed", generation
        assert (generation["width"], generation["height"]) == size and generation["progress"] is None
        image = api.get(generation["image_url"])
        assert image.status_code == 200
        proof = verify_image(image.content, keys=keys)
        assert proof.credentials.state in (CredentialState.valid, CredentialState.trusted)
        assert proof.watermark_generation_id == generation["id"]
        assert api.get(f"/api/v1/generations/{generation['id']}/download").content == image.content

    assert api.get("/api/v1/tokens/balance").json()["data"]["token_balance"] == 70
    db.expire_all()
    assert db.scalars(select(Artist.earned_token_balance)).one() == 30
    fan = db.scalars(select(User.id).where(User.email == "fan@example.com")).one()
    assert db.scalars(select(Notification.type).where(Notification.recipient_id == fan)).all() == [
        "generation_complete"] * 3
    assert asyncio.run(audit_database(database_url)) == []


@pytest.mark.parametrize("unusable", ["missing", "trained on another base"])
def test_a_style_that_cannot_be_drawn_is_refunded_and_notified(api, settings, style, db, database_url, unusable,
                                                               request):
    dev_login(api, "fan@example.com")
    deploy_generation_app(settings)
    store = api.app.state.object_store
    if unusable == "missing":
        asyncio.run(store.delete(style.adapter_key))
    else:  # an SDXL style for this SD 1.x replica
        asyncio.run(store.put(style.adapter_key, request.getfixturevalue("sdxl_style_adapter"),
                              content_type="application/octet-stream"))
    generation = finished_generation(api, _generate(api, style.id))
    assert (generation["status"], generation["error_code"], generation["attempts"]) == (
        "failed", "GENERATION_REJECTED", 1)
    assert api.get("/api/v1/tokens/balance").json()["data"]["token_balance"] == 100
    assert db.scalars(select(Notification.type)).all() == ["generation_failed"]
    assert asyncio.run(audit_database(database_url)) == []


def test_a_generation_requested_while_serve_is_down_completes_once_it_is_up(api, settings, style, db,
                                                                            database_url):
    dev_login(api, "fan@example.com")
    generation_id = _generate(api, style.id)  # no generation application yet
    deadline = time.monotonic() + 30
    while db.scalar(select(Generation.status).where(Generation.id == generation_id)) != "retrying":
        assert time.monotonic() < deadline
        time.sleep(0.2)
        db.expire_all()
    deploy_generation_app(settings)
    generation = finished_generation(api, generation_id)
    assert generation["status"] == "completed" and generation["attempts"] == 2
    assert api.get("/api/v1/tokens/balance").json()["data"]["token_balance"] == 90  # charged once
    assert asyncio.run(audit_database(database_url)) == []


def _replica_actor():
    import ray

    [name] = [actor["name"] for actor in ray.util.list_named_actors(all_namespaces=True)
              if actor["name"].startswith(f"SERVE_REPLICA::{GENERATION_APP_NAME}")]
    return ray.get_actor(name, namespace="serve")


def test_a_replica_killed_mid_generation_is_retried_and_charged_once(api, settings, style, db, database_url):
    import ray

    settings.generation.retry_delays_seconds = [0.0, 0.0, 0.0]
    settings.diffusion.inference_steps = 60  # long enough to be caught drawing
    dev_login(api, "fan@example.com")
    deploy_generation_app(settings)
    generation_id = _generate(api, style.id)
    deadline = time.monotonic() + 60
    while db.scalar(select(Generation.progress).where(Generation.id == generation_id)) is None:
        assert time.monotonic() < deadline, "never saw it drawing"
        time.sleep(0.1)
        db.expire_all()
    ray.kill(_replica_actor(), no_restart=False)

    generation = finished_generation(api, generation_id)
    assert generation["status"] == "completed" and generation["attempts"] == 2
    assert api.get("/api/v1/tokens/balance").json()["data"]["token_balance"] == 90  # charged once
    assert asyncio.run(audit_database(database_url)) == []
