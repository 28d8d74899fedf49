"""Synthetic illustration-like images (smooth colour fields, shapes and grain; the same for a given seed)
and the copies people make of images they share. Used by the provenance tests and bench/provenance.py."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw, ImageFilter


def synthetic_artwork(width: int, height: int, seed: int = 0) -> Image.Image:
    random = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    field = np.stack([np.sin(x * 6 + seed) * 80 + 128, np.cos(y * 5) * 70 + 120, (x + y) * 60 + 60], axis=-1)
    image = Image.fromarray(np.clip(field, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        left, top = random.integers(0, width), random.integers(0, height)
        size = random.integers(10, max(11, width // 5))
        colour = tuple(int(channel) for channel in random.integers(0, 256, 3))
        draw.ellipse([left, top, left + size, top + size], fill=colour)
    grain = random.normal(0, 6, (height, width, 3))
    blurred = np.asarray(image.filter(ImageFilter.GaussianBlur(1.5)), dtype=np.float64)
    return Image.fromarray(np.clip(blurred + grain, 0, 255).astype(np.uint8))


def reencode(image: Image.Image, image_format: str, **params) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return Image.open(io.BytesIO(buffer.getvalue()))


def half(image: Image.Image) -> Image.Image:
    return image.resize((image.width // 2, image.height // 2), Image.Resampling.LANCZOS)


COPIES = {
    "PNG": lambda image: reencode(image, "PNG"),
    "JPEG q95": lambda image: reencode(image, "JPEG", quality=95),
    "JPEG q90": lambda image: reencode(image, "JPEG", quality=90),
    "JPEG q85": lambda image: reencode(image, "JPEG", quality=85),
    "JPEG q75": lambda image: reencode(image, "JPEG", quality=75),
    "50% resize": half,
    "50% resize + JPEG q85": lambda image: reencode(half(image), "JPEG", quality=85),
    "WebP q80": lambda image: reencode(image, "WEBP", quality=80),
}
