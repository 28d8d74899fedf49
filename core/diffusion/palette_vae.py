"""The tiny models' VAE: a real `AutoencoderKL` (8x, four latent channels, the layers of SD's VAE at a small
width) whose weights are set, not trained, so that a latent is the average colour of its 8×8 pixels and the
decoder paints each latent back as an 8×8 block of that colour.

A random VAE's decoder does not invert its encoder, so a tiny model's pixels could never show what its UNet
learnt. With this one a tiny model's images show a style's palette, and tests measure learning in pixels.
(Training a VAE this small to reconstruct colours did not converge in the seconds a model build may take: its
group norms remove the very per-channel means that carry a flat colour. Set weights are exact and instant.)

How the weights do it: every residual branch ends in a zero convolution and every attention in a zero output
projection, so those blocks pass their input through; down-sampling convolutions average 2×2 pixels and
up-sampling ones copy. Each colour channel travels with its negation and a constant pair ±K in a normalisation group
of its own: the group's mean is then exactly zero and its variance ≈ 2K²/(group size), whatever the image, so the group norm only rescales the colour (by a known factor, to within (colour/K)² ≈ 1e-4), and a bias
keeps the SiLU after it in its linear range.
"""

from __future__ import annotations

import math

import torch
from diffusers import AutoencoderKL

SAMPLE_SIZE = 256
LATENT_SCALE = 2.0  # colours in [-1, 1] of typical art have a spread of about 0.5: scaled latents of about 1
_GROUPS = 8
_K = 100.0  # the constant pair that fixes each group's variance
_SILU_SHIFT = 30.0  # SiLU(x + 30) = x + 30 to within 1e-11
_COLOURS = 3


def palette_vae() -> AutoencoderKL:
    vae = AutoencoderKL(
        block_out_channels=(32, 32, 64, 64), in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        norm_num_groups=_GROUPS, sample_size=SAMPLE_SIZE, scaling_factor=LATENT_SCALE,
    )
    with torch.no_grad():
        _set_weights(vae)
    return vae


def _carriers(colour: int) -> tuple[int, int, int, int]:
    """The channels carrying colour `colour`: itself, its negation, +K and -K. Eight channels apart, so each
    colour has a normalisation group to itself at every width (groups of 4 channels at 32, of 8 at 64)."""
    first = 8 * colour
    return first, first + 1, first + 2, first + 3


def _lift(conv: torch.nn.Conv2d, source_channels: int) -> None:
    """A 3×3 convolution from `source_channels` colour channels to their carriers."""
    conv.weight.zero_()
    conv.bias.zero_()
    for colour in range(source_channels):
        plus, minus, k_plus, k_minus = _carriers(colour)
        conv.weight[plus, colour, 1, 1] = 1.0
        conv.weight[minus, colour, 1, 1] = -1.0
        conv.bias[k_plus], conv.bias[k_minus] = _K, -_K


def _identity(conv: torch.nn.Conv2d, kernel: list[tuple[int, int]] | None = None) -> None:
    """Channel i to channel i (as many as both sides have), spatially through the averaging `kernel` taps."""
    conv.weight.zero_()
    conv.bias.zero_()
    taps = kernel or [(conv.kernel_size[0] // 2, conv.kernel_size[1] // 2)]
    for channel in range(min(conv.in_channels, conv.out_channels)):
        for row, column in taps:
            conv.weight[channel, channel, row, column] = 1.0 / len(taps)


def _pass_through(module: torch.nn.Module) -> None:
    """Every residual block and attention of `module` adds nothing to its input."""
    for name, child in module.named_modules():
        if name.endswith("conv2") or name.endswith("to_out.0"):
            child.weight.zero_()
            child.bias.zero_()
        elif name.endswith("conv_shortcut"):
            _identity(child)


def _linear_norm(norm: torch.nn.GroupNorm) -> float:
    """Set the norm so each colour carrier comes out as colour + shift; returns that shift."""
    group_size = norm.num_channels // norm.num_groups
    spread = _K * math.sqrt(2 / group_size)  # the standard deviation of a group holding one ±K pair
    norm.weight.fill_(spread)
    norm.bias.fill_(_SILU_SHIFT)
    return _SILU_SHIFT


def _read_out(conv: torch.nn.Conv2d, shift: float, colours: int) -> None:
    """A 3×3 convolution from the colour carriers back to `colours` plain channels."""
    conv.weight.zero_()
    conv.bias.zero_()
    for colour in range(colours):
        conv.weight[colour, _carriers(colour)[0], 1, 1] = 1.0
        conv.bias[colour] = -shift


def _set_weights(vae: AutoencoderKL) -> None:
    encoder, decoder = vae.encoder, vae.decoder
    _lift(encoder.conv_in, _COLOURS)
    _pass_through(encoder)
    for block in encoder.down_blocks:
        for down in block.downsamplers or []:
            # Pads one pixel right and below, then strides 2: taps (0..1, 0..1) average 2×2 inside the image.
            _identity(down.conv, kernel=[(0, 0), (0, 1), (1, 0), (1, 1)])
    _read_out(encoder.conv_out, _linear_norm(encoder.conv_norm_out), _COLOURS)
    encoder.conv_out.bias[vae.config.latent_channels:] = -30.0  # log-variance: the latents are exact
    _identity(vae.quant_conv)
    _identity(vae.post_quant_conv)

    _lift(decoder.conv_in, _COLOURS)  # the fourth latent channel stays unused
    _pass_through(decoder)
    for block in decoder.up_blocks:
        for up in block.upsamplers or []:
            _identity(up.conv)  # after a nearest-neighbour doubling: copies
    _read_out(decoder.conv_out, _linear_norm(decoder.conv_norm_out), _COLOURS)
