"""The artist's signature: fixed rules for corner, size, margin and opacity, the same look on 512², 1024²
and 512×1024, Hangul names rendered with real glyphs, and the same bytes for the same input."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import pytest
from PIL import Image, ImageChops, ImageDraw

from core.signature import FONT_PATH, ArtistMark, apply_signature, artist_mark
from core.signature import _font as signature_font
from tests.core.artwork import synthetic_artwork

SIZES = [(512, 512), (1024, 1024), (512, 1024)]
NAME = "김민아 Mina Kim"


def _mark_box(image: Image.Image, mark: ArtistMark) -> tuple[int, int, int, int]:
    """Where the mark changed pixels, as distances from the right and bottom edges (and its size)."""
    left, top, right, bottom = ImageChops.difference(image, apply_signature(image, mark)).getbbox()
    return image.width - right, image.height - bottom, right - left, bottom - top


def _png_digest(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return hashlib.sha256(buffer.getvalue()).hexdigest()


def _signature_image() -> Image.Image:
    """A stroke on a big transparent canvas, as artists upload them."""
    canvas = Image.new("RGBA", (900, 600), (0, 0, 0, 0))
    stroke = [(200, 400), (350, 250), (500, 420), (700, 260)]
    ImageDraw.Draw(canvas).line(stroke, fill=(20, 20, 120, 255), width=24)
    return canvas


@pytest.mark.parametrize("size", SIZES)
def test_the_same_input_gives_the_same_bytes(size):
    image = synthetic_artwork(*size, seed=1)
    for mark in MARKS:
        assert _png_digest(apply_signature(image, mark)) == _png_digest(apply_signature(image.copy(), mark))


MARKS = [ArtistMark(NAME), ArtistMark(NAME, _signature_image())]


@pytest.mark.parametrize("mark", MARKS, ids=["name", "image"])
def test_position_and_size_follow_the_short_side(mark):
    flat = {size: Image.new("RGB", size, (128, 140, 150)) for size in SIZES}
    square, large, tall = (_mark_box(flat[size], mark) for size in SIZES)
    assert square == tall  # the same short side: the same mark in the same corner
    # Twice the short side: twice as big and as far from the edges, give or take rounding.
    assert all(abs(large[i] - 2 * square[i]) <= 4 for i in range(4)), (square, large)
    right_margin, bottom_margin, width, height = square
    margin = round(512 * 0.03)  # antialiased edges may leave the outermost pixels unchanged
    assert margin <= right_margin <= margin + 3 and margin <= bottom_margin <= margin + 3
    assert height <= round(512 * 0.06) and width <= round(512 * 0.40)


def test_the_mark_is_translucent():
    on_black = apply_signature(Image.new("RGB", (512, 512), (0, 0, 0)), MARKS[1])
    on_white = apply_signature(Image.new("RGB", (512, 512), (255, 255, 255)), MARKS[1])
    left, top, right, bottom = ImageChops.difference(on_black, Image.new("RGB", (512, 512))).getbbox()
    ink = np.asarray(on_black.crop((left, top, right, bottom))).sum(axis=2) > 0
    shown_through = np.abs(np.asarray(on_white.crop((left, top, right, bottom)), dtype=int)
                           - np.asarray(on_black.crop((left, top, right, bottom)), dtype=int))
    assert shown_through[ink].max() > 0  # the background still shows through the ink


def test_hangul_names_use_real_glyphs():
    font = signature_font(24)
    missing_glyph = bytes(font.getmask("\ue000"))
    for syllable in "김민아똠뷁힣가":
        assert bytes(font.getmask(syllable)) != missing_glyph
    assert FONT_PATH.exists() and (FONT_PATH.parent / "OFL.txt").exists()


def test_long_names_are_shrunk_then_shortened_to_fit():
    image = Image.new("RGB", (512, 512), (30, 30, 30))
    _, _, width, height = _mark_box(image, ArtistMark("가나다라마바사아자차카타파하 " * 4))
    assert width <= round(512 * 0.40) and height <= round(512 * 0.06)


def test_control_characters_are_dropped_and_an_empty_name_is_refused():
    image = Image.new("RGB", (512, 512), (30, 30, 30))
    cleaned = apply_signature(image, ArtistMark("Mina Kim"))
    assert apply_signature(image, ArtistMark("Mina\u202e Kim\n")) == cleaned
    with pytest.raises(ValueError):
        apply_signature(image, ArtistMark("\u200b\n"))


def test_a_blank_signature_image_falls_back_to_the_name():
    image = Image.new("RGB", (512, 512), (30, 30, 30))
    blank = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
    assert apply_signature(image, ArtistMark(NAME, blank)) == apply_signature(image, ArtistMark(NAME))


def test_artist_mark_reads_the_stored_signature_png():
    buffer = io.BytesIO()
    _signature_image().save(buffer, "PNG")
    mark = artist_mark(NAME, buffer.getvalue())
    assert mark.signature.mode == "RGBA" and mark.signature.size == (900, 600)
    assert artist_mark(NAME).signature is None
