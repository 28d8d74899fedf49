"""The generation application on the session's real local Ray cluster (fake GPUs, one per replica), called
exactly as the API calls it: a streaming handle call with the style's adapter key as multiplexed model id."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from core.content_credentials import CredentialState
from core.contracts import GENERATION_APP_NAME, GenerationJob, GenerationRejected
from core.provenance_keys import load_provenance_keys
from core.storage import create_object_store
from core.storage_keys import is_public
from core.verification import verify_image
from serve_apps.generation.app import build_app
from serve_apps.generation.config import GenerationAppConfig
from tests.serving.conftest import job, put_styles, replica_environment, replica_settings, run_app
from tests.stubs.server import free_port

REPLICAS = 2


@pytest.fixture(scope="module")
def deployed(ray_dashboard: str, tiny_model: str, style_adapters, tmp_path_factory) -> Iterator[tuple]:
    from ray import serve

    root = tmp_path_factory.mktemp("serving")
    settings = replica_settings(root, tiny_model)
    asyncio.run(put_styles(create_object_store(settings.storage), style_adapters))
    config = GenerationAppConfig(
        min_replicas=REPLICAS, max_replicas=REPLICAS, num_gpus=1, num_cpus=0, torch_threads=1,
        adapter_cache_dir=root / "adapters", progress_interval_seconds=0, replica_env=replica_environment(settings),
    )
    serve.start(http_options={"host": "127.0.0.1", "port": free_port()})
    try:
        handle = run_app(build_app(config), GENERATION_APP_NAME)
        yield handle, settings
    finally:
        serve.delete(GENERATION_APP_NAME)
        serve.shutdown()


def _call(request: GenerationJob) -> list[dict]:
    """What the API does (platform_api/compute.py), synchronously."""
    from ray import serve

    handle = serve.get_app_handle(GENERATION_APP_NAME)
    response = handle.options(multiplexed_model_id=request.adapter_key, stream=True).generate.remote(
        request.model_dump(mode="json"))
    return list(response)


def test_progress_streams_then_the_signed_image_key_comes_back(deployed):
    _, settings = deployed
    messages = _call(job(501, style=1, steps=3))
    assert [m["current_step"] for m in messages[:-1]] == [0, 1, 2, 3]
    assert {m["kind"] for m in messages[:-1]} == {"progress"}
    result = messages[-1]
    assert result["kind"] == "result" and is_public(result["image_key"])

    stored = asyncio.run(create_object_store(settings.storage).get(result["image_key"]))
    proof = verify_image(stored, keys=load_provenance_keys(settings))
    assert proof.credentials.state is CredentialState.trusted and proof.credentials.generation_id == 501
    assert proof.watermark_generation_id == 501


def test_a_missing_adapter_is_rejected_at_the_caller(deployed):
    with pytest.raises(GenerationRejected, match="adapter is missing"):
        _call(job(502, style=1, adapter_key="private/styles/404/runs/1/pytorch_lora_weights.safetensors"))


def _every_replica(handle) -> dict[str, dict]:
    """`describe` from each replica (unrouted calls land on either)."""
    seen: dict[str, dict] = {}
    deadline = time.monotonic() + 30
    while len(seen) < REPLICAS and time.monotonic() < deadline:
        answer = handle.describe.remote().result(timeout_s=30)
        seen[answer["replica"]] = answer
    assert len(seen) == REPLICAS
    return seen


def test_a_styles_requests_stick_to_the_replica_holding_its_adapter(deployed):
    handle, _ = deployed
    for generation_id, style in enumerate([2, 3, 2, 1, 3, 2, 3, 1], start=510):
        assert _call(job(generation_id, style=style))[-1]["kind"] == "result"

    replicas = _every_replica(handle)
    for style in (1, 2, 3):
        key = job(0, style=style).adapter_key
        holders = [r for r in replicas.values() if key in r["styles"]]
        # Loaded once, on one replica, and every later request went there.
        assert len(holders) == 1 and sum(r["style_loads"].get(key, 0) for r in replicas.values()) == 1, replicas
