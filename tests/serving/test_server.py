"""A replica's request path without Ray: progress, then the signed image in public storage; requests that
can never succeed are rejected; an evicted style leaves the pipeline once nothing draws with it."""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Iterator

import pytest
import torch
from PIL import Image

from core.content_credentials import CredentialState
from core.contracts import GenerationJob, GenerationRejected
from core.diffusion import BaseModelError, Device
from core.provenance_keys import load_provenance_keys
from core.settings import Settings
from core.storage_keys import is_public
from core.verification import verify_image
from serve_apps.generation.config import GenerationAppConfig
from serve_apps.generation.server import GenerationServer
from tests.serving.conftest import job, put_styles
from tests.serving.styles import adapter_key


@pytest.fixture
def server(serving_settings: Settings, store, style_adapters, tmp_path) -> Iterator[GenerationServer]:
    asyncio.run(put_styles(store, style_adapters))
    config = GenerationAppConfig(adapter_cache_dir=tmp_path / "adapters", progress_interval_seconds=0,
                                 batch_wait_seconds=0.05)
    server = GenerationServer.from_settings(serving_settings, config, Device("cpu", torch.float32))
    yield server
    server.close()


def _messages(server: GenerationServer, *jobs: GenerationJob) -> list[list[dict]]:
    async def one(request):
        return [message async for message in server.generate(request, server.load_style)]

    async def together():
        return await asyncio.gather(*(one(request) for request in jobs))

    return asyncio.run(together())


def test_progress_streams_then_the_signed_image_is_stored_publicly(server, store, serving_settings):
    [messages] = _messages(server, job(41, style=1, steps=3))
    progress, result = messages[:-1], messages[-1]
    assert [(m["kind"], m["current_step"], m["total_steps"]) for m in progress] == [
        ("progress", step, 3) for step in range(4)]
    assert result["kind"] == "result" and (result["width"], result["height"]) == (256, 256)
    assert {"adapter", "queue", "diffusion", "signing_and_upload", "total"} <= set(result["timings"])

    assert is_public(result["image_key"]) and is_public(result["thumbnail_key"])
    assert result["image_key"].startswith("public/generations/41/")
    proof = verify_image(asyncio.run(store.get(result["image_key"])), keys=load_provenance_keys(serving_settings))
    assert proof.credentials.state is CredentialState.trusted and proof.credentials.generation_id == 41
    assert proof.watermark_generation_id == 41
    assert proof.metadata.artist_name == "Painter 1" and proof.metadata.style_id == 1
    # Only the signed image and its thumbnail were written under the generation.
    assert sorted(asyncio.run(store.list("public/generations/41/"))) == sorted(
        [result["image_key"], result["thumbnail_key"]])


@pytest.mark.parametrize(("changes", "reason"), [
    ({"adapter_key": "private/styles/99/runs/1/pytorch_lora_weights.safetensors"}, "adapter is missing"),
    ({"signature_key": "private/users/5/signature/gone.png"}, "signature is missing"),
    ({"width": 128, "height": 128}, "short side of at least 256"),
    ({"width": 260}, "multiples of 8"),
    ({"width": 2048, "height": 2048}, "pixels"),
])
def test_requests_that_can_never_succeed_are_rejected(server, store, changes, reason):
    with pytest.raises(GenerationRejected, match=reason):
        _messages(server, job(42, style=1, **changes))
    assert asyncio.run(store.list("public/generations/")) == []


def test_a_replica_whose_base_model_cannot_be_read_does_not_start(serving_settings, tmp_path):
    (tmp_path / "model_index.json").write_text('{"_class_name": "KandinskyPipeline"}')
    serving_settings.diffusion.base_model = str(tmp_path)
    with pytest.raises(BaseModelError, match="is a KandinskyPipeline, not one of"):
        GenerationServer.from_settings(serving_settings, GenerationAppConfig(), Device("cpu", torch.float32))


def test_a_style_trained_on_another_base_is_rejected_before_it_touches_the_pipeline(server, store,
                                                                                   sdxl_style_adapter):
    asyncio.run(store.put(adapter_key(7), sdxl_style_adapter, content_type="application/octet-stream"))
    with pytest.raises(GenerationRejected, match=r"trained on .* \(sdxl\) and this replica draws with .* \(sd1\)"):
        _messages(server, job(44, style=7))
    assert server.runner.pipeline.adapters == set()
    assert asyncio.run(store.list("public/generations/")) == []


def test_each_size_is_drawn_at_the_models_native_pixel_count_and_delivered_at_its_own(server, store):
    # The tiny model draws 256² natively: 512×1024 is drawn at 192×384 and resized.
    [messages] = _messages(server, job(45, style=1, width=512, height=1024))
    result = messages[-1]
    assert (result["width"], result["height"]) == (512, 1024)
    with Image.open(io.BytesIO(asyncio.run(store.get(result["image_key"])))) as image:
        assert image.size == (512, 1024)


def test_an_evicted_style_leaves_the_pipeline_after_its_last_request(server):
    async def scenario():
        style = await server.load_style(job(0, style=2).adapter_key)

        async def held(_key):
            return style

        stream = server.generate(job(43, style=2), held)
        await anext(stream)  # step 0: the request holds the adapter now
        # Serve evicts from one of its worker threads.
        evicting = threading.Thread(target=style.__del__)
        evicting.start()
        evicting.join()
        await asyncio.sleep(0.05)
        still_loaded = server.runner.pipeline.adapters == {style.name}
        messages = [message async for message in stream]
        await asyncio.sleep(0.05)
        await server.runner.call(lambda pipeline: None)  # the removal ran before this
        return still_loaded, messages[-1]["kind"]

    still_loaded, last = asyncio.run(scenario())
    assert still_loaded and last == "result"
    assert server.runner.pipeline.adapters == set() and server.describe()["styles"] == []
