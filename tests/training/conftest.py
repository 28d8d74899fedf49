from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image


def painted(path: Path, seed: int, size: int = 512) -> Path:
    """A simple synthetic artwork: coloured bands that differ by seed."""
    image = Image.new("RGB", (size, size))
    pixels = image.load()
    for y in range(size):
        for x in range(size):
            pixels[x, y] = ((x * (seed + 3)) % 256, (y * (seed + 5)) % 256, ((x + y) * 7 + seed * 40) % 256)
    image.save(path)
    return path


@pytest.fixture(scope="session")
def artworks(tmp_path_factory) -> list[Path]:
    directory = tmp_path_factory.mktemp("artworks")
    return [painted(directory / f"art-{n}.png", n, size=96) for n in range(4)]


def training_images(count: int, size: int = 512) -> list[bytes]:
    """Distinct valid training uploads (PNG, at least 512x512)."""
    import io

    import numpy as np

    images = []
    for seed in range(count):
        rng = np.random.default_rng(seed)
        base = rng.integers(0, 256, size=(8, 8, 3), dtype=np.uint8)
        image = Image.fromarray(base).resize((size, size), Image.Resampling.BICUBIC)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        images.append(buffer.getvalue())
    return images
