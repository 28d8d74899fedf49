"""What differs between the base model families the platform draws with, in one place: SD 1.x
(`StableDiffusionPipeline`, one CLIP text encoder, trained at 512²) and SDXL (`StableDiffusionXLPipeline`, two
text encoders, a pooled text embedding and six "time ids" of size and crop, trained at 1024²).

Everything else (LoRA on the UNet's attention projections, the VAE, the noise schedule, the per-row batched
LoRA hook) is the same code for both. The family is read from the model itself: its `model_index.json`, or the
keys of a single-file checkpoint (`core.diffusion.single_file`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from diffusers import DiffusionPipeline, StableDiffusionPipeline, StableDiffusionXLPipeline

from core.diffusion.errors import BaseModelError, one_line

# Rendered sides are multiples of this: SD 1.x's UNet halves its latent grid three times (8 × 8 pixels).
RENDER_MULTIPLE = 64


@dataclass(frozen=True)
class Family:
    name: str
    pipeline_class: type[DiffusionPipeline]
    title: str

    def load_options(self) -> dict:
        """Extra arguments of `from_pretrained`/`from_single_file`."""
        return {}

    def prompt_conditioning(self, pipeline: DiffusionPipeline, prompt: str, *, original_size: tuple[int, int],
                            crop_top_left: tuple[int, int], target_size: tuple[int, int]) -> dict[str, torch.Tensor]:
        """What the UNet is conditioned on for one training example (batch dimension 1), as flat tensors that
        `torch.cat` joins into a batch. Sizes are (height, width) in pixels."""
        embeddings, _ = pipeline.encode_prompt(prompt, pipeline.device, 1, False)
        return {"encoder_hidden_states": embeddings}

    def unet_inputs(self, conditioning: dict[str, torch.Tensor]) -> dict:
        """Keyword arguments of the UNet's forward for a batch of `prompt_conditioning`."""
        return {"encoder_hidden_states": conditioning["encoder_hidden_states"]}


@dataclass(frozen=True)
class _SDXL(Family):
    def prompt_conditioning(self, pipeline, prompt, *, original_size, crop_top_left, target_size):
        embeddings, _, pooled, _ = pipeline.encode_prompt(prompt=prompt, device=pipeline.device,
                                                          num_images_per_prompt=1, do_classifier_free_guidance=False)
        # SDXL's micro-conditioning: the image's size before cropping, the crop's corner and the target size.
        time_ids = torch.tensor([[*original_size, *crop_top_left, *target_size]], dtype=embeddings.dtype,
                                device=embeddings.device)
        return {"encoder_hidden_states": embeddings, "text_embeds": pooled, "time_ids": time_ids}

    def unet_inputs(self, conditioning):
        return {"encoder_hidden_states": conditioning["encoder_hidden_states"],
                "added_cond_kwargs": {"text_embeds": conditioning["text_embeds"], "time_ids": conditioning["time_ids"]}}


@dataclass(frozen=True)
class _SD1(Family):
    def load_options(self):
        return {"safety_checker": None, "requires_safety_checker": False}


SD1 = _SD1("sd1", StableDiffusionPipeline, "Stable Diffusion 1.x")
SDXL = _SDXL("sdxl", StableDiffusionXLPipeline, "Stable Diffusion XL")
FAMILIES = {family.name: family for family in (SD1, SDXL)}
_BY_PIPELINE_CLASS = {family.pipeline_class.__name__: family for family in FAMILIES.values()}


def family_named(name: str) -> Family:
    return FAMILIES[name]


def family_of_pipeline(pipeline: DiffusionPipeline) -> Family:
    for family in FAMILIES.values():
        if isinstance(pipeline, family.pipeline_class):
            return family
    raise BaseModelError(f"{type(pipeline).__name__} is not a base model family this platform draws with")


def family_of_pretrained(model: str) -> Family:
    """The family of a diffusers folder or hub id, from its `model_index.json`."""
    try:
        index = DiffusionPipeline.load_config(model)  # a folder's model_index.json, or the hub's
    except (OSError, ValueError) as error:
        raise BaseModelError(f"SL_BASE_MODEL {model!r} cannot be read: {one_line(error)}") from error
    class_name = index.get("_class_name")
    if class_name not in _BY_PIPELINE_CLASS:
        raise BaseModelError(f"SL_BASE_MODEL {model!r} is a {class_name}, not one of "
                             f"{', '.join(sorted(_BY_PIPELINE_CLASS))}")
    return _BY_PIPELINE_CLASS[class_name]


def native_side(pipeline: DiffusionPipeline) -> int:
    """The square side the base model was trained at, in pixels (512 for SD 1.5, 1024 for SDXL)."""
    return pipeline.unet.config.sample_size * pipeline.vae_scale_factor


def render_size(width: int, height: int, native: int) -> tuple[int, int]:
    """Where to draw an image delivered at width × height: the delivered aspect ratio at the model's native
    pixel count, sides rounded to RENDER_MULTIPLE. Off its native size a model repeats subjects (SD 1.5 at
    1024²) or loses detail (SDXL at 512²); the drawn image is then resized to the delivered size."""
    rendered_width = max(RENDER_MULTIPLE, round(native * math.sqrt(width / height) / RENDER_MULTIPLE) * RENDER_MULTIPLE)
    rendered_height = max(RENDER_MULTIPLE, round(rendered_width * height / width / RENDER_MULTIPLE) * RENDER_MULTIPLE)
    return rendered_width, rendered_height

