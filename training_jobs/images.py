"""Training images as the UNet sees them. Each is resized to cover the aspect-ratio bucket nearest its own shape
at the training pixel count, then centre-cropped to it: the spec accepts any image of at least 512×512, portrait or
landscape, and a square crop would cut a third off a tall one. The buckets are diffusers' own ladder
(`generate_aspect_ratio_buckets`, sides multiples of 64 so both families' UNets take them): at 1024², 1024²,
896×1152, 832×1280, 768×1344, 704×1472 and their transposes; at 512², 512² to 384×704."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers.training_utils import find_nearest_bucket, generate_aspect_ratio_buckets
from PIL import Image

from core.diffusion.families import RENDER_MULTIPLE


@dataclass(frozen=True)
class Crop:
    pixels: torch.Tensor  # in [-1, 1], channels first
    original_size: tuple[int, int]  # (height, width) before resizing
    top_left: tuple[int, int]  # (top, left) of the crop in the resized image

    @property
    def size(self) -> tuple[int, int]:
        return tuple(self.pixels.shape[1:])

    def mirrored(self) -> torch.Tensor:
        """The crop's pixels flipped left to right: the centred crop of the mirrored image, to a pixel."""
        return self.pixels.flip(-1)


def buckets(resolution: int) -> list[tuple[int, int]]:
    """(height, width) pairs of about resolution² pixels."""
    return generate_aspect_ratio_buckets(resolution, divisibility=RENDER_MULTIPLE)


def bucket_crop(path: Path, options: list[tuple[int, int]]) -> Crop:
    """The image in the bucket nearest its aspect ratio."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    original_size = (image.height, image.width)
    height, width = options[find_nearest_bucket(image.height, image.width, options)]
    scale = max(height / image.height, width / image.width)
    image = image.resize((max(width, round(image.width * scale)), max(height, round(image.height * scale))),
                         Image.Resampling.BICUBIC)
    left, top = (image.width - width) // 2, (image.height - height) // 2
    image = image.crop((left, top, left + width, top + height))
    array = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).reshape(height, width, 3)
    return Crop(array.permute(2, 0, 1).float() / 127.5 - 1.0, original_size, (top, left))
