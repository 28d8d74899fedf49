"""Style adapters with random weights, in the diffusers format training ships, for any SD-shaped UNet: they
change the image as much as a trained style (more, on the tiny model) and cost the same to load and run.
Used by the serving tests and bench/serving.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from diffusers import UNet2DConditionModel

from core.diffusion.families import SD1, Family
from core.diffusion.lora import BaseIdentity, lora_config, write_adapter
from training_jobs.train import ADAPTER_FILE

_SCRATCH = "random_adapter"


def random_adapter(unet: UNet2DConditionModel, seed: int, *, family: Family = SD1, rank: int = 4) -> bytes:
    """The adapter file's bytes, for a UNet of `family` with no adapters. Both LoRA matrices are random
    (training starts with B = 0), so every adapter draws a visibly different image."""
    base = BaseIdentity.of(family, unet, "a random-weight test base")
    torch.manual_seed(seed)
    config = lora_config(rank, rank, init=False)
    unet.add_adapter(config, adapter_name=_SCRATCH)
    try:
        with tempfile.TemporaryDirectory() as directory:
            path = write_adapter(Path(directory) / ADAPTER_FILE, unet, config, base, adapter_name=_SCRATCH)
            return path.read_bytes()
    finally:
        unet.delete_adapters(_SCRATCH)


def adapter_key(style_id: int) -> str:
    """Where training would have put the style's adapter."""
    return f"private/styles/{style_id}/runs/1/{ADAPTER_FILE}"
