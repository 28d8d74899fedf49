"""The tiny models' own base training: their UNet learns to denoise generic pictures (smooth fields of any
colour) for about a minute when a tiny model is first built, as a real base model learnt from billions of pictures.

A random UNet is no denoiser, so a style LoRA on it lowers the loss a little yet draws the same colour noise: a
style could never show. Trained this much, a tiny model draws smooth colour fields of its own, and a style LoRA
moves them toward the style's palette (tests/training/test_learning.py), as on a real base model.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers import DDPMScheduler, DiffusionPipeline

from core.diffusion.families import family_of_pipeline

STEPS = 2000  # 600 denoised, but too poorly for a style LoRA to move its colours (docs/training.md)
_BATCH = 8
_LEARNING_RATE = 1e-3
_LATENT_SIDE = 8  # 64² pixels: the UNet is convolutional, what it learns here holds at any size
_COARSE_SIDE = 3  # each picture: a 3×3 grid of random colours, smoothly interpolated
_GENERIC_PROMPT = ""


def train_tiny_base(pipeline: DiffusionPipeline, seed: int) -> None:
    """Train `pipeline`'s UNet in place (the text encoders and the VAE stay as built)."""
    family = family_of_pipeline(pipeline)
    scheduler = DDPMScheduler.from_config(pipeline.scheduler.config)
    side = _LATENT_SIDE * pipeline.vae_scale_factor
    with torch.no_grad():
        conditioning = family.prompt_conditioning(pipeline, _GENERIC_PROMPT, original_size=(side, side),
                                                  crop_top_left=(0, 0), target_size=(side, side))
    inputs = family.unet_inputs({key: value.expand(_BATCH, *value.shape[1:]) for key, value in conditioning.items()})
    unet = pipeline.unet
    unet.train()
    optimizer = torch.optim.AdamW(unet.parameters(), lr=_LEARNING_RATE)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(STEPS):
        latents = _generic_latents(generator, pipeline.vae.config)
        noise = torch.randn(latents.shape, generator=generator)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (_BATCH,), generator=generator)
        prediction = unet(scheduler.add_noise(latents, noise, timesteps), timesteps, **inputs, return_dict=False)[0]
        loss = F.mse_loss(prediction, noise)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    unet.eval()


def _generic_latents(generator: torch.Generator, vae_config) -> torch.Tensor:
    """Latents of smooth random colour fields, as the palette VAE encodes them (its fourth channel is unused)."""
    coarse = torch.rand(_BATCH, vae_config.latent_channels, _COARSE_SIDE, _COARSE_SIDE, generator=generator) * 2 - 1
    coarse[:, 3:] = 0
    fields = F.interpolate(coarse, size=(_LATENT_SIDE, _LATENT_SIDE), mode="bilinear", align_corners=False)
    return fields * vae_config.scaling_factor
