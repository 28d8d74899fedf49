"""The training objective's min-SNR weighting, on a stand-in UNet that predicts zeros (the loss is then the
target's own mean square, so the weight is all that differs)."""

from __future__ import annotations

import pytest
import torch
from diffusers import DDPMScheduler
from diffusers.training_utils import compute_snr

from training_jobs.objective import denoising_loss


def _zero_unet(noisy, timesteps, **_):
    return (torch.zeros_like(noisy),)


@pytest.mark.parametrize("timestep", [999, 500, 10])
def test_min_snr_weights_each_timestep_by_min_snr_gamma_over_snr(timestep):
    scheduler = DDPMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012)
    latents, noise = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    timesteps = torch.tensor([timestep])
    plain = denoising_loss(_zero_unet, scheduler, latents, {}, noise, timesteps)
    weighted = denoising_loss(_zero_unet, scheduler, latents, {}, noise, timesteps, min_snr_gamma=5.0)
    snr = compute_snr(scheduler, timesteps).item()
    assert weighted.item() == pytest.approx(plain.item() * min(snr, 5.0) / snr, rel=1e-5)
    # Noisy timesteps (SNR below γ) keep their loss; nearly clean ones are damped.
    assert (weighted.item() < plain.item() * 0.5) == (timestep == 10)
