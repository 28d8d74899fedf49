"""What training minimises and how a trained adapter is scored.

Training: diffusers' reference objective (predict the noise, or the velocity, added at a random timestep) with
min-SNR weighting (Hang et al., "Efficient Diffusion Training via Min-SNR Weighting Strategy", 2023; diffusers'
`compute_snr`): each timestep's loss is weighted by min(SNR, γ)/SNR, so the nearly noise-free timesteps, whose
loss is tiny yet whose gradients dominate, stop crowding out the ones that shape the image. γ = 5 is the paper's.

Score: the same loss, unweighted, on images held out of training, at fixed timesteps with fixed noise, so two
epochs (or the adapter and the base model) are compared on exactly the same problem.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.training_utils import compute_snr

# Interior points of the schedule, evenly spaced: every noise level the model works at, not only the extremes.
SCORE_TIMESTEPS = 8


def denoising_loss(unet, scheduler, latents: torch.Tensor, unet_inputs: dict, noise: torch.Tensor,
                   timesteps: torch.Tensor, *, min_snr_gamma: float | None = None) -> torch.Tensor:
    noisy = scheduler.add_noise(latents, noise, timesteps)
    v_prediction = scheduler.config.prediction_type == "v_prediction"
    target = scheduler.get_velocity(latents, noise, timesteps) if v_prediction else noise
    prediction = unet(noisy, timesteps, **unet_inputs, return_dict=False)[0]
    per_row = F.mse_loss(prediction.float(), target.float(), reduction="none").mean(dim=(1, 2, 3))
    if min_snr_gamma is not None:
        snr = compute_snr(scheduler, timesteps)
        per_row = per_row * torch.clamp(snr, max=min_snr_gamma) / (snr + 1 if v_prediction else snr)
    return per_row.mean()


def noise_prediction_loss(unet, scheduler, latents: torch.Tensor, unet_inputs: dict, generator: torch.Generator,
                          *, min_snr_gamma: float | None = None) -> torch.Tensor:
    """The training loss of one batch: random noise at a random timestep per row."""
    noise = torch.randn(latents.shape, generator=generator, dtype=latents.dtype, device=latents.device)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],), generator=generator,
                              device=latents.device).long()
    return denoising_loss(unet, scheduler, latents, unet_inputs, noise, timesteps, min_snr_gamma=min_snr_gamma)


@torch.no_grad()
def score(unet, scheduler, examples: list[tuple[torch.Tensor, dict]], unet_inputs, seed: int) -> float:
    """The mean denoising loss over `examples` (latents and conditioning, batch dimension 1) at SCORE_TIMESTEPS
    fixed timesteps with noise fixed by `seed`: lower is better; equal inputs give equal scores."""
    count = scheduler.config.num_train_timesteps
    timesteps = torch.linspace(0, count - 1, SCORE_TIMESTEPS + 2)[1:-1].round().long()
    total = 0.0
    for index, (latents, conditioning) in enumerate(examples):
        timesteps = timesteps.to(latents.device)
        rows = latents.expand(SCORE_TIMESTEPS, *latents.shape[1:])
        generator = torch.Generator(device=latents.device).manual_seed(seed * 100_003 + index)
        noise = torch.randn(rows.shape, generator=generator, dtype=rows.dtype, device=rows.device)
        batch = {key: value.expand(SCORE_TIMESTEPS, *value.shape[1:]) for key, value in conditioning.items()}
        total += denoising_loss(unet, scheduler, rows, unet_inputs(batch), noise, timesteps).item()
    return total / len(examples)
