"""Cross-style batching on the tiny models of both families: requests for different styles drawn in one UNet
call, each row with its own adapter, give each request the image it gets alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
import torch
from diffusers import UNet2DConditionModel

from core.diffusion import Device, load_pipeline
from core.diffusion.families import family_of_pretrained
from serve_apps.generation.batching import BatchRunner, Drawn, StepDone
from serve_apps.generation.pipeline import ImageRequest, StylePipeline
from tests.helpers import tiny_model_of
from tests.serving.styles import random_adapter
from training_jobs.train import ADAPTER_FILE

CPU = Device("cpu", torch.float32)
STEPS = 2


@pytest.fixture(scope="module", params=["sd1", "sdxl"])
def base_model(request) -> str:
    """Every test here runs on the tiny model of each family."""
    return tiny_model_of(request, request.param)


@pytest.fixture(scope="module")
def adapter_files(base_model: str, tmp_path_factory) -> dict[str, Path]:
    unet = UNet2DConditionModel.from_pretrained(base_model, subfolder="unet")
    family = family_of_pretrained(base_model)
    files = {}
    for style in (1, 2, 3):
        path = tmp_path_factory.mktemp(f"style-{style}") / ADAPTER_FILE
        path.write_bytes(random_adapter(unet, seed=style, family=family))
        files[f"style_{style}"] = path
    return files


@pytest.fixture(scope="module")
def pipeline(base_model: str, adapter_files: dict[str, Path]) -> StylePipeline:
    pipeline = StylePipeline.load(base_model, CPU)
    for name, path in adapter_files.items():
        pipeline.add_adapter(name, path)
    return pipeline


def _row(name: str, seed: int, size: int = 64) -> ImageRequest:
    return ImageRequest(adapter=name, prompt=f"{name}, a lake at dawn", negative_prompt="blurry", seed=seed,
                        width=size, height=size, steps=STEPS, guidance_scale=7.0)


def _pixels(image) -> np.ndarray:
    return np.asarray(image, dtype=np.int16)


def test_each_row_of_a_mixed_batch_is_what_stock_diffusers_draws_with_that_style_alone(
        pipeline, adapter_files, base_model):
    rows = [_row(name, seed) for seed, name in enumerate(adapter_files)]
    mixed = pipeline.generate(rows)

    stock = load_pipeline(base_model, CPU)  # driven the ordinary way: one active adapter per call
    for name, path in adapter_files.items():
        stock.load_lora_weights(path.parent, weight_name=path.name, adapter_name=name)
    for index, name in enumerate(adapter_files):
        stock.set_adapters(name)
        alone = stock(prompt=[r.prompt for r in rows], negative_prompt=[r.negative_prompt for r in rows],
                      width=64, height=64, num_inference_steps=STEPS, guidance_scale=7.0,
                      generator=[torch.Generator().manual_seed(r.seed) for r in rows]).images
        _assert_same_but_for_rounding(mixed[index], alone[index])
    # ...and the styles really differ, so a row drawn with the wrong adapter could not pass.
    assert np.abs(_pixels(mixed[0]) - _pixels(mixed[1])).mean() > 20


def _assert_same_but_for_rounding(image, reference) -> None:
    """Batched matmuls and convolutions round differently from unbatched ones (about 1e-6 before 8-bit
    quantisation), so a rare latent may land one level away: the tiny models' VAE paints each latent as an
    8×8 block, so 64 pixels move together."""
    difference = np.abs(_pixels(image) - _pixels(reference))
    assert difference.max() <= 1 and (difference > 0).mean() < 0.02, (difference.max(), (difference > 0).mean())


def _draw_together(runner: BatchRunner, rows: list[ImageRequest]) -> list[list]:
    async def draw(row):
        return [event async for event in runner.draw(row)]

    async def together():
        return await asyncio.gather(*(draw(row) for row in rows))

    return asyncio.run(together())


def test_batched_requests_get_the_images_they_get_alone(pipeline, adapter_files):
    runner = BatchRunner(pipeline, max_batch_size=8, batch_wait_seconds=0.05)
    rows = [_row(name, seed=10 + n) for n, name in enumerate(adapter_files)]
    try:
        batched = _draw_together(runner, rows)
        assert dict(runner.batch_sizes) == {3: 1}
        alone = [_draw_together(runner, [row])[0] for row in rows]
        assert dict(runner.batch_sizes) == {3: 1, 1: 3}
    finally:
        runner.close()

    for events in batched:
        assert events[:-1] == [StepDone(step, STEPS) for step in range(1, STEPS + 1)]
        assert isinstance(events[-1], Drawn) and events[-1].batch_size == 3
    for together, single in zip(batched, alone, strict=True):
        _assert_same_but_for_rounding(together[-1].image, single[-1].image)
    assert np.abs(_pixels(batched[0][-1].image) - _pixels(batched[1][-1].image)).mean() > 20


def test_only_requests_of_one_size_share_a_batch(pipeline):
    runner = BatchRunner(pipeline, max_batch_size=8, batch_wait_seconds=0.05)
    try:
        drawn = _draw_together(runner, [_row("style_1", 1), _row("style_2", 2, size=128), _row("style_3", 3)])
    finally:
        runner.close()
    assert dict(runner.batch_sizes) == {2: 1, 1: 1}
    assert [events[-1].image.size for events in drawn] == [(64, 64), (128, 128), (64, 64)]
