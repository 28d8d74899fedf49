"""A corpus of bad uploads (spec §2.1.2), each with the code it must be refused with as a training image:
broken, disguised, animated, too large, decompression bombs, too small. tests/core checks image validation
against it, tests/api/test_upload_attacks.py every upload endpoint."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image

from core.images import IMAGE_SIZE_EXCEEDED, IMAGE_TOO_SMALL, INVALID_IMAGE_FORMAT, MAX_UPLOAD_BYTES
from tests.core.artwork import synthetic_artwork

SCRIPT = b"<script>alert(document.cookie)</script>"


def save_image(image: Image.Image, image_format: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def sample_artwork(width: int = 640, height: int = 640) -> Image.Image:
    return synthetic_artwork(width, height, seed=3)


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_from_rows(width: int, height: int, bit_depth: int, colour_type: int, rows) -> bytes:
    """A PNG written by hand, for what Pillow will not write (16-bit RGB, decompression bombs)."""
    compressor = zlib.compressobj(9)
    data = b"".join(compressor.compress(b"\x00" + row) for row in rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", data)
            + _png_chunk(b"IEND", b""))


def decompression_bomb() -> bytes:
    """20000×20000 one-bit pixels: 50 MB of zeros that compress to about 50 kB."""
    return png_from_rows(20_000, 20_000, 1, 0, (bytes(2_500) for _ in range(20_000)))


def _animated_png() -> bytes:
    frames = [sample_artwork(), sample_artwork().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    return save_image(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=100)


def _multi_picture_jpeg() -> bytes:
    return save_image(sample_artwork(), "MPO", save_all=True, append_images=[sample_artwork()])


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(save_image(sample_artwork(), "JPEG"))
    frame = data.index(b"\xff\xc0")
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _png_with_bad_checksum() -> bytes:
    data = bytearray(save_image(sample_artwork(), "PNG"))
    data[data.index(b"IDAT") + 40] ^= 0xFF
    return bytes(data)


BAD_UPLOADS = {
    "truncated PNG": (lambda: save_image(sample_artwork(), "PNG")[:-5000], INVALID_IMAGE_FORMAT),
    "truncated JPEG": (lambda: save_image(sample_artwork(), "JPEG")[:4000], INVALID_IMAGE_FORMAT),
    "20000×20000 decompression bomb": (decompression_bomb, IMAGE_SIZE_EXCEEDED),
    "JPEG header claiming 30000×30000": (lambda: _jpeg_claiming(30_000, 30_000), IMAGE_SIZE_EXCEEDED),
    "GIF renamed .png": (lambda: save_image(sample_artwork(), "GIF"), INVALID_IMAGE_FORMAT),
    "WebP": (lambda: save_image(sample_artwork(), "WEBP"), INVALID_IMAGE_FORMAT),
    "animated PNG": (_animated_png, INVALID_IMAGE_FORMAT),
    "multi-picture JPEG": (_multi_picture_jpeg, INVALID_IMAGE_FORMAT),
    "511×600": (lambda: save_image(sample_artwork(511, 600), "PNG"), IMAGE_TOO_SMALL),
    "600×511 JPEG": (lambda: save_image(sample_artwork(600, 511), "JPEG"), IMAGE_TOO_SMALL),
    "10 MB + 1 byte": (lambda: save_image(sample_artwork(), "PNG").ljust(MAX_UPLOAD_BYTES + 1, b"\x01"),
                       IMAGE_SIZE_EXCEEDED),
    "zero bytes": (lambda: b"", INVALID_IMAGE_FORMAT),
    "HTML named .jpg": (lambda: b"<!DOCTYPE html><html><body>" + SCRIPT + b"</body></html>",
                        INVALID_IMAGE_FORMAT),
    "SVG with a script": (lambda: b'<svg xmlns="http://www.w3.org/2000/svg">' + SCRIPT + b"</svg>",
                          INVALID_IMAGE_FORMAT),
    "PNG with HTML after its end": (lambda: save_image(sample_artwork(), "PNG") + b"<html>" + SCRIPT,
                                    INVALID_IMAGE_FORMAT),
    "JPEG with a ZIP after its end": (lambda: save_image(sample_artwork(), "JPEG") + b"PK\x03\x04" + bytes(40),
                                      INVALID_IMAGE_FORMAT),
    "PNG with a damaged chunk": (_png_with_bad_checksum, INVALID_IMAGE_FORMAT),
    "PNG signature then garbage": (lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, INVALID_IMAGE_FORMAT),
    "JPEG markers then garbage": (lambda: b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + SCRIPT, INVALID_IMAGE_FORMAT),
}
