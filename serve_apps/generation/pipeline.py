"""The base model with any number of style adapters loaded side by side, drawing a batch in which every row
uses its own adapter, at a cost that does not depend on how many styles the batch mixes.

PEFT keeps every adapter's LoRA matrices in the UNet's attention projections. Its own per-row mode
(`adapter_names`) loops over the distinct adapters of a batch in every layer: a gather, two matmuls and a
scatter per style per layer, which made an 8-style batch 30 % slower than a one-style batch on the tiny
model and would be tens of thousands of extra kernel launches per image on a GPU. Here PEFT's layers are
left switched off (they return the base projection) and a forward hook adds the batch's LoRA updates with
two batched matmuls per layer: each row's A and B (B pre-scaled by alpha/r, ranks zero-padded to the
batch's largest) are gathered once per batch, not per step. With classifier-free guidance the UNet sees the
rows twice (unconditional, then conditional), so the gathered rows repeat to match.

Rows match a stock diffusers run with only that row's adapter active up to float rounding (batched matmul
against a plain one: at most one level in 8-bit pixels), see tests/serving/test_pipeline.py. The same holds for
SD 1.x and SDXL: both adapt the UNet's attention projections, and the hook sees only those layers.

Adapters carry the identity of the base they were trained on (`core.diffusion.lora`); one trained on another
architecture is refused before it touches the UNet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DiffusionPipeline
from peft.tuners.lora import LoraLayer
from PIL import Image

from core.diffusion import Device, load_pipeline
from core.diffusion.families import family_of_pipeline, native_side
from core.diffusion.lora import BaseIdentity


@dataclass(frozen=True)
class ImageRequest:
    """One row of a batch."""

    adapter: str  # the name it was loaded under (`StylePipeline.add_adapter`)
    prompt: str
    negative_prompt: str
    seed: int
    width: int
    height: int
    steps: int
    guidance_scale: float

    @property
    def batch_key(self) -> tuple[int, int, int, float]:
        """Rows can share a pipeline call when these agree; prompts, seeds and adapters may all differ."""
        return self.width, self.height, self.steps, self.guidance_scale


class StylePipeline:
    """Not thread-safe: adapters change the UNet's modules, so one caller at a time (on a replica,
    `BatchRunner`'s single pipeline thread)."""

    def __init__(self, pipeline: DiffusionPipeline, base_model: str):
        self.pipeline = pipeline
        self.base = BaseIdentity.of(family_of_pipeline(pipeline), pipeline.unet, base_model)
        self.native_side = native_side(pipeline)
        self._lora_layers: list[LoraLayer] = []

    @classmethod
    def load(cls, model_path: str, device: Device | None = None) -> StylePipeline:
        return cls(load_pipeline(model_path, device), model_path)

    @property
    def adapters(self) -> set[str]:
        return set(self.pipeline.unet.peft_config) if getattr(self.pipeline.unet, "peft_config", None) else set()

    def add_adapter(self, name: str, weights: Path) -> None:
        """Load a diffusers-format LoRA file under `name` (letters, digits, underscores). Raises
        `AdapterMismatch` for an adapter trained on another architecture."""
        self.base.check_adapter(weights)
        self.pipeline.load_lora_weights(weights.parent, weight_name=weights.name, adapter_name=name)
        self._adapters_changed()

    def remove_adapter(self, name: str) -> None:
        self.pipeline.delete_adapters(name)
        self._adapters_changed()

    def _adapters_changed(self) -> None:
        self._lora_layers = [m for m in self.pipeline.unet.modules() if isinstance(m, LoraLayer)]
        if self._lora_layers:
            # PEFT's own LoRA path stays off: `_per_row_adapters` adds every row's update instead.
            self.pipeline.unet.disable_lora()

    @torch.inference_mode()
    def generate(self, rows: Sequence[ImageRequest],
                 on_step: Callable[[int, int], None] | None = None) -> list[Image.Image]:
        """One image per row, in one pipeline call. `on_step(done, total)` after every denoising step."""
        if not rows:
            return []
        keys = {row.batch_key for row in rows}
        if len(keys) > 1:
            raise ValueError(f"rows of one batch must agree on size, steps and guidance: {sorted(keys)}")
        missing = {row.adapter for row in rows} - self.adapters
        if missing:
            raise KeyError(f"adapters not loaded: {sorted(missing)}")
        first = rows[0]
        device = self.pipeline.device

        def step_end(pipeline, step: int, timestep, callback_kwargs: dict) -> dict:
            if on_step is not None:
                on_step(step + 1, first.steps)
            return callback_kwargs

        with self._per_row_adapters([row.adapter for row in rows]):
            return self.pipeline(
                prompt=[row.prompt for row in rows],
                negative_prompt=[row.negative_prompt for row in rows],
                width=first.width,
                height=first.height,
                num_inference_steps=first.steps,
                guidance_scale=first.guidance_scale,
                # One generator per row: a row's noise depends on its seed alone, not on its batch.
                generator=[torch.Generator(device=device).manual_seed(row.seed) for row in rows],
                callback_on_step_end=step_end,
            ).images

    @contextmanager
    def _per_row_adapters(self, names: list[str]) -> Iterator[None]:
        gathered: dict[tuple[int, int], tuple[torch.Tensor, torch.Tensor]] = {}

        def add_updates(layer: LoraLayer, args, kwargs, output: torch.Tensor) -> torch.Tensor:
            inputs = args[0]
            rows = inputs.shape[0]
            if rows % len(names):
                raise RuntimeError(f"a LoRA layer saw {rows} rows for a batch of {len(names)}")
            key = (id(layer), rows)
            if key not in gathered:
                gathered[key] = _row_weights(layer, names * (rows // len(names)))
            down, up = gathered[key]
            flat = inputs.reshape(rows, -1, inputs.shape[-1]).to(down.dtype)
            update = torch.bmm(torch.bmm(flat, down), up)
            return output + update.reshape(output.shape).to(output.dtype)

        handles = [layer.register_forward_hook(add_updates, with_kwargs=True) for layer in self._lora_layers]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()


def _row_weights(layer: LoraLayer, names: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Per row: A transposed (in × r) and B transposed and scaled (r × out), zero-padded to the largest
    rank among the rows; a row whose adapter does not touch this layer gets zeros."""
    rank = max((layer.r.get(name, 0) for name in set(names)), default=0)
    base = layer.get_base_layer()
    like = next(iter(layer.lora_A.values())).weight
    down = torch.zeros(len(names), base.in_features, rank, dtype=like.dtype, device=like.device)
    up = torch.zeros(len(names), rank, base.out_features, dtype=like.dtype, device=like.device)
    for row, name in enumerate(names):
        if name in layer.lora_A:
            r = layer.r[name]
            down[row, :, :r] = layer.lora_A[name].weight.T
            up[row, :r, :] = layer.lora_B[name].weight.T * layer.scaling[name]
    return down, up
