"""Training learns a style, on the CPU: the default recipe (scaled only in resolution and sampling steps) trains
the tiny models of both families on two synthetic styles, a red palette and a blue one, each with one kind of
stroke. The adapter's held-out loss falls clearly below the base model's, and what each adapter draws moves
toward its own style's colours and away from the other's. Margins measured: docs/training.md (Proof it learns)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from core.diffusion import Device, load_pipeline
from core.training_recipe import TrainingRecipe
from tests.helpers import tiny_model_of
from training_jobs.train import ADAPTER_FILE, TrainingExample, TrainingSpec, caption, train_lora

CPU = Device("cpu", torch.float32)
# The default recipe (10 images: 9 train 1000 views in 500 steps over 10 epochs at rank 16, lr 1e-4), at the
# tiny models' 64² and with fewer sampling steps for the per-epoch samples.
RECIPE = TrainingRecipe(resolution=64, sample_steps=4)
# Background, then two stroke colours: one palette per style.
PALETTES = {"red": [(180, 30, 30), (250, 150, 50), (120, 0, 0)], "blue": [(30, 50, 170), (80, 200, 250), (10, 10, 80)]}
TRIGGER = "test style"
DRAWINGS = 8


def _style_image(path: Path, palette, seed: int, size: int = 160) -> Path:
    """Diagonal strokes of the palette's two colours on its background."""
    rng = random.Random(seed)
    image = Image.new("RGB", (size, size), palette[0])
    draw = ImageDraw.Draw(image)
    for _ in range(12):
        x, y = rng.randrange(size), rng.randrange(size)
        draw.line((x, y, x + 40, y + 40), fill=palette[1 + rng.randrange(2)], width=rng.randrange(6, 14))
    image.save(path)
    return path


def _mean_colour(images: list[Image.Image]) -> np.ndarray:
    return np.mean([np.asarray(image.convert("RGB"), dtype=np.float64).reshape(-1, 3).mean(axis=0)
                    for image in images], axis=0)


def _drawings(model: str, adapter: Path | None) -> list[Image.Image]:
    pipeline = load_pipeline(model, CPU)
    if adapter is not None:
        pipeline.load_lora_weights(adapter, weight_name=ADAPTER_FILE)
    return [pipeline(caption(["cat"], TRIGGER), num_inference_steps=20, height=64, width=64,
                     generator=torch.Generator().manual_seed(seed)).images[0] for seed in range(DRAWINGS)]


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_each_style_trains_below_the_base_models_loss_and_draws_toward_its_own_colours(family, tmp_path, request):
    model = tiny_model_of(request, family)
    style_colours, adapters, manifests = {}, {}, {}
    for style, palette in PALETTES.items():
        (tmp_path / style).mkdir()
        images = [_style_image(tmp_path / style / f"{index}.png", palette, index) for index in range(10)]
        style_colours[style] = _mean_colour([Image.open(path) for path in images])
        output = tmp_path / f"{style}-adapter"
        manifests[style] = train_lora(TrainingSpec(
            base_model=model, examples=[TrainingExample(path, caption(["strokes"], TRIGGER)) for path in images],
            output_dir=output, trigger_tag=TRIGGER, recipe=RECIPE, sample_prompts=("cat",),
        ), device=CPU)
        adapters[style] = output

    base_colour = _mean_colour(_drawings(model, None))
    drawn = {style: _mean_colour(_drawings(model, adapters[style])) for style in PALETTES}

    def distance(colour: np.ndarray, style: str) -> float:
        return float(np.linalg.norm(colour - style_colours[style]))  # RGB units, of 255

    for style, manifest in manifests.items():
        other = next(name for name in PALETTES if name != style)
        own, base, others = distance(drawn[style], style), distance(base_colour, style), distance(drawn[other], style)
        print(f"{family} {style}: held-out loss {manifest.heldout_loss_per_epoch[manifest.best_epoch - 1]:.4f} "
              f"(epoch {manifest.best_epoch}), base model "
              f"{manifest.base_heldout_loss:.4f}; drawings' colour from the style's: {own:.1f}, base model {base:.1f},"
              f" the {other} adapter {others:.1f}")
        assert manifest.steps == 500
        # The published adapter is the best epoch's (its drawings are the ones measured).
        assert manifest.heldout_loss_per_epoch[manifest.best_epoch - 1] < 0.9 * manifest.base_heldout_loss
        assert own < base - 10  # toward its own style
        assert own < others - 10  # and the other style's adapter does not go there
