"""The base model with any number of style adapters loaded side by side, drawing a batch in which every row
uses its own adapter.

PEFT's LoRA layers take `adapter_names`, one per row of their input, and add each row's own low-rank update
(`LoraLayer._mixed_batch_forward`). Here a forward pre-hook hands every LoRA layer of the UNet the batch's
names for the length of one pipeline call; with classifier-free guidance the UNet sees the batch twice
(unconditional rows, then conditional ones), so the names repeat to match. A row's pixels are bitwise those
of a stock diffusers run with only that row's adapter active and the same batch; against a batch of one they
differ only by the float noise of batched convolutions (tests/serving/test_pipeline.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline
from peft.tuners.lora import LoraLayer
from PIL import Image

from core.diffusion import Device, load_pipeline


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

    def __init__(self, pipeline: StableDiffusionPipeline):
        self.pipeline = pipeline
        self._lora_layers: list[LoraLayer] = []

    @classmethod
    def load(cls, model_path: str, device: Device | None = None) -> StylePipeline:
        return cls(load_pipeline(model_path, device))

    @property
    def adapters(self) -> set[str]:
        return set(self.pipeline.unet.peft_config) if getattr(self.pipeline.unet, "peft_config", None) else set()

    def add_adapter(self, name: str, weights: Path) -> None:
        """Load a diffusers-format LoRA file under `name` (letters, digits, underscores)."""
        self.pipeline.load_lora_weights(weights.parent, weight_name=weights.name, adapter_name=name)
        self._lora_layers = [m for m in self.pipeline.unet.modules() if isinstance(m, LoraLayer)]

    def remove_adapter(self, name: str) -> None:
        self.pipeline.delete_adapters(name)
        self._lora_layers = [m for m in self.pipeline.unet.modules() if isinstance(m, LoraLayer)]

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
        def hand_names(module, args, kwargs):
            rows = args[0].shape[0]
            if rows % len(names):
                raise RuntimeError(f"a LoRA layer saw {rows} rows for a batch of {len(names)}")
            kwargs["adapter_names"] = names * (rows // len(names))
            return args, kwargs

        handles = [layer.register_forward_pre_hook(hand_names, with_kwargs=True) for layer in self._lora_layers]
        try:
            yield
        finally:
            for handle in handles:
                handle.remove()
