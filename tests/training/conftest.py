from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from core.diffusion import build_tiny_model


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    # Two threads on two shared cores were 10-30x slower than one.
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-sd"))


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
