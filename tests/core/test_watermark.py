"""The invisible watermark: the generation id survives PNG, JPEG down to q75, WebP and a 50 % resize on every
generated size; unmarked images and other keys read as nothing; the change stays invisible (PSNR)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from core.watermark import embed_generation_id, read_generation_id
from tests.core.artwork import COPIES, synthetic_artwork

KEY = b"watermark-test-key"
GENERATION_ID = 2**40 + 12345
SIZES = [(512, 512), (1024, 1024), (512, 1024)]


@pytest.fixture(scope="module")
def marked() -> dict[tuple[int, int], tuple[Image.Image, Image.Image]]:
    originals = {size: synthetic_artwork(*size, seed=sum(size)) for size in SIZES}
    return {
        size: (image, embed_generation_id(image, GENERATION_ID, key=KEY)) for size, image in originals.items()
    }


@pytest.mark.parametrize("copy", COPIES)
@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_generation_id_survives(marked, size, copy):
    assert read_generation_id(COPIES[copy](marked[size][1]), key=KEY) == GENERATION_ID


@pytest.mark.parametrize("size", SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def test_the_watermark_is_invisible(marked, size):
    original, watermarked = (np.asarray(image, dtype=np.float64) for image in marked[size])
    psnr = 10 * np.log10(255**2 / np.mean((original - watermarked) ** 2))
    assert psnr > 45
    assert np.abs(original - watermarked).max() <= 12


def test_unmarked_images_and_other_keys_read_as_nothing(marked):
    original, watermarked = marked[(512, 512)]
    assert read_generation_id(original, key=KEY) is None
    assert read_generation_id(watermarked, key=b"another key") is None
    assert read_generation_id(Image.new("RGB", (512, 512), (90, 90, 90)), key=KEY) is None


def test_embedding_is_deterministic_and_keeps_the_size(marked):
    original, watermarked = marked[(512, 1024)]
    assert watermarked.size == original.size and watermarked.mode == "RGB"
    assert embed_generation_id(original, GENERATION_ID, key=KEY).tobytes() == watermarked.tobytes()


def test_flat_images_carry_it_too():
    flat = Image.new("RGB", (512, 512), (128, 128, 128))
    assert read_generation_id(embed_generation_id(flat, 7, key=KEY), key=KEY) == 7


@pytest.mark.parametrize("generation_id", [-1, 2**64])
def test_ids_outside_64_bits_are_refused(generation_id):
    with pytest.raises(ValueError):
        embed_generation_id(Image.new("RGB", (512, 512)), generation_id, key=KEY)


def test_small_images_are_refused_for_embedding_and_read_as_nothing():
    with pytest.raises(ValueError):
        embed_generation_id(Image.new("RGB", (255, 600)), 1, key=KEY)
    assert read_generation_id(Image.new("RGB", (40, 40)), key=KEY) is None
