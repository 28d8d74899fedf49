"""The Stable Diffusion base model shared by training jobs and generation replicas: the only package of `core`
that imports torch and diffusers (the API never imports it).

`SL_BASE_MODEL` names an SD 1.x or SDXL base: a diffusers folder, a hub id, or one `.safetensors`/`.ckpt` file
(`single_file`), or a development model (`development`: tiny models that draw colour fields, full-size shapes
with random weights). `families` owns what differs between
SD 1.x and SDXL; `lora` the style adapter file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import DDPMScheduler, DiffusionPipeline

from core.diffusion import single_file
from core.diffusion.development import (
    SHAPES,
    TINY_MODELS,
    build_tiny_model,
    is_development_model,
    tiny_model_folder,
)
from core.diffusion.errors import BaseModelError, one_line
from core.diffusion.families import family_of_pretrained
from core.settings import DEVELOPMENT_NOTICE, Precision

__all__ = ["BaseModelError", "Device", "build_tiny_model", "load_pipeline", "resolve_base_model",
           "training_scheduler", "tune_for_gpu"]

log = logging.getLogger(__name__)
_DTYPES = {Precision.auto: torch.bfloat16, Precision.bf16: torch.bfloat16, Precision.fp16: torch.float16,
           Precision.fp32: torch.float32}


@dataclass(frozen=True)
class Device:
    name: str
    dtype: torch.dtype

    @classmethod
    def best(cls, precision: Precision = Precision.auto) -> Device:
        """The GPU if there is one, in `precision` (auto: bf16 where the GPU has it natively, else fp16); else
        the CPU."""
        if not torch.cuda.is_available():
            return cls("cpu", torch.float32)
        # Natively: torch also says yes for GPUs that only emulate bf16 (T4, V100), slowly.
        if precision is Precision.auto and not torch.cuda.is_bf16_supported(including_emulation=False):
            return cls("cuda", torch.float16)
        return cls("cuda", _DTYPES[precision])


def resolve_base_model(base_model: str, models_dir: Path) -> str:
    """What `load_pipeline` takes: a tiny model's name becomes its folder, built once under `models_dir`."""
    if base_model in TINY_MODELS:
        return str(tiny_model_folder(base_model, models_dir))
    return base_model


def load_pipeline(model: str, device: Device | None = None) -> DiffusionPipeline:
    """The base model's pipeline on `device`, in its dtype. Raises `BaseModelError` (one line naming the model
    and the cause) for a model that is missing, unreadable or of no known family."""
    device = device or Device.best()
    if is_development_model(model):
        log.warning(DEVELOPMENT_NOTICE.format(model=model))
    pipeline = _load(model, device)
    pipeline.set_progress_bar_config(disable=True)
    pipeline = pipeline.to(device.name)
    if device.name == "cuda":
        tune_for_gpu(pipeline)
    return pipeline


def _load(model: str, device: Device) -> DiffusionPipeline:
    if model in SHAPES:
        return single_file.random_weights_pipeline(SHAPES[model], device.dtype, device.name)
    path = Path(model)
    if path.suffix in single_file.SUFFIXES:
        if not path.is_file():
            raise BaseModelError(f"SL_BASE_MODEL {model!r}: no such file")
        return single_file.load_single_file(path, single_file.single_file_family(path), device.dtype)
    family = family_of_pretrained(model)
    try:
        return family.pipeline_class.from_pretrained(model, dtype=device.dtype, local_files_only=path.exists(),
                                                     **family.load_options())
    except (OSError, ValueError) as error:
        raise BaseModelError(f"SL_BASE_MODEL {model!r} cannot be loaded as {family.title}: "
                             f"{one_line(error)}") from error


def tune_for_gpu(pipeline: DiffusionPipeline) -> None:
    """The UNet's convolutions in channels-last layout (the tensor cores' own), and the VAE decoding large
    images in tiles, so a 1024² decode does not hold the whole image's activations at once. Attention already
    runs on torch's scaled_dot_product_attention, diffusers' default on torch 2."""
    pipeline.unet.to(memory_format=torch.channels_last)
    pipeline.vae.enable_tiling()


def training_scheduler(pipeline: DiffusionPipeline) -> DDPMScheduler:
    """The noise schedule training adds noise with: the base model's own betas and prediction type."""
    return DDPMScheduler.from_config(pipeline.scheduler.config)
