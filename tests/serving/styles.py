"""Style adapters with random weights, in the diffusers format training ships, for any SD-shaped UNet: they
change the image as much as a trained style (more, on the tiny model) and cost the same to load and run.
Used by the serving tests and bench/serving.py."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch
from diffusers import StableDiffusionPipeline, UNet2DConditionModel
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict

from training_jobs.train import ADAPTER_FILE, LORA_TARGET_MODULES

_SCRATCH = "random_adapter"


def random_adapter(unet: UNet2DConditionModel, seed: int, *, rank: int = 4) -> bytes:
    """The adapter file's bytes. Both LoRA matrices are random (training starts with B = 0), so every
    adapter draws a visibly different image."""
    torch.manual_seed(seed)
    config = LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=False, target_modules=LORA_TARGET_MODULES)
    unet.add_adapter(config, adapter_name=_SCRATCH)
    try:
        layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet, adapter_name=_SCRATCH))
        with tempfile.TemporaryDirectory() as directory:
            StableDiffusionPipeline.save_lora_weights(
                directory, unet_lora_layers=layers, unet_lora_adapter_metadata=config.to_dict(),
                weight_name=ADAPTER_FILE, safe_serialization=True,
            )
            return (Path(directory) / ADAPTER_FILE).read_bytes()
    finally:
        unet.delete_adapters(_SCRATCH)


def adapter_key(style_id: int) -> str:
    """Where training would have put the style's adapter."""
    return f"private/styles/{style_id}/runs/1/{ADAPTER_FILE}"
