"""The artist's visible signature on every generated image (spec §8.2: fixed position, size and opacity).

The mark is the artist's signature image or, when they have none, their name set in NanumSquare Bold
(shipped in core/assets/fonts, OFL; it covers Latin and every Hangul syllable). Sizes are fractions of the
image's short side, so 512², 1024² and 512×1024 carry the same-looking mark in the same corner. Everything
here is deterministic: the same image and mark give the same pixels.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

from core.images import decode_image

FONT_PATH = Path(__file__).parent / "assets" / "fonts" / "NanumSquareB.ttf"

MARK_HEIGHT = 0.06  # of the short side: 31 px on a 512 px side
MARK_MAX_WIDTH = 0.40  # of the short side
MARGIN = 0.03  # from the bottom and right edges, of the short side
OPACITY = 0.85
MIN_FONT_SIZE = 10
TEXT_FILL = (255, 255, 255, 255)
# A dark outline keeps white lettering readable on light and dark images alike.
TEXT_OUTLINE = (0, 0, 0, 255)
ELLIPSIS = "…"


@dataclass(frozen=True)
class ArtistMark:
    name: str
    signature: Image.Image | None = None  # RGBA, as validated for ImagePurpose.signature


def artist_mark(name: str, signature_png: bytes | None = None) -> ArtistMark:
    """The mark of an artist from their name and stored signature image (None: sign with the name)."""
    signature = decode_image(signature_png)[1].convert("RGBA") if signature_png else None
    return ArtistMark(name=name, signature=signature)


def apply_signature(image: Image.Image, mark: ArtistMark) -> Image.Image:
    """An RGB copy of `image` with the mark in its bottom-right corner."""
    signed = image.convert("RGBA")
    short_side = min(signed.size)
    height = round(short_side * MARK_HEIGHT)
    max_width = round(short_side * MARK_MAX_WIDTH)
    margin = round(short_side * MARGIN)
    stamp = _signature_stamp(mark.signature, max_width, height) if mark.signature else None
    stamp = stamp or _name_stamp(mark.name, max_width, height)
    stamp.putalpha(stamp.getchannel("A").point(lambda alpha: round(alpha * OPACITY)))
    corner = (signed.width - margin - stamp.width, signed.height - margin - stamp.height)
    signed.alpha_composite(stamp, corner)
    return signed.convert("RGB")


def _signature_stamp(signature: Image.Image, max_width: int, height: int) -> Image.Image | None:
    """The signature image without its transparent border, fitted in the mark's box; None when blank."""
    ink = signature.getchannel("A").getbbox()
    if ink is None:
        return None
    return ImageOps.contain(signature.crop(ink), (max_width, height), Image.Resampling.LANCZOS)


def _name_stamp(name: str, max_width: int, height: int) -> Image.Image:
    text = _printable(name)
    size = height
    font, outline, (left, top, right, bottom) = _measure(text, size)
    # Shrink the type until it fits the box, down to a legible minimum...
    while size > MIN_FONT_SIZE and (right - left > max_width or bottom - top > height):
        size = max(MIN_FONT_SIZE, min(size - 1, size * max_width // (right - left)))
        font, outline, (left, top, right, bottom) = _measure(text, size)
    # ...then shorten a name that still does not fit.
    while right - left > max_width and len(text) > 1:
        text = text[:-2] + ELLIPSIS  # drops one letter (and the previous ellipsis)
        font, outline, (left, top, right, bottom) = _measure(text, size)
    stamp = Image.new("RGBA", (right - left, bottom - top), (0, 0, 0, 0))
    ImageDraw.Draw(stamp).text(
        (-left, -top), text, font=font, fill=TEXT_FILL, stroke_width=outline, stroke_fill=TEXT_OUTLINE
    )
    return stamp


def _measure(text: str, size: int) -> tuple[ImageFont.FreeTypeFont, int, tuple[int, int, int, int]]:
    font = _font(size)
    outline = max(1, size // 12)
    return font, outline, font.getbbox(text, stroke_width=outline)


def _printable(name: str) -> str:
    """The name on one line, without control or formatting characters (bidi overrides, zero-width joiners)."""
    cleaned = " ".join("".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).split())
    if not cleaned:
        raise ValueError("an artist's name must have something printable in it")
    return cleaned


@lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont:
    # The basic layout engine: the same glyph positions with or without libraqm installed.
    return ImageFont.truetype(str(FONT_PATH), size, layout_engine=ImageFont.Layout.BASIC)
