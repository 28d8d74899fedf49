"""What an image file really is, read from its bytes rather than its name or its declared content type.

Uploads may be JPEG or PNG. Walking the container, before any decoder sees the pixels, also finds what a
decoder would let through: animation (APNG, multi-picture JPEG), bytes after the image's end (the usual
way to build a polyglot, an image that is also HTML or a ZIP), broken PNG checksums and truncation.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass
from enum import StrEnum

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SIGNATURE = b"\xff\xd8\xff"


class ImageFormat(StrEnum):
    jpeg = "jpeg"
    png = "png"
    webp = "webp"  # written for thumbnails only; never accepted as an upload

    @property
    def content_type(self) -> str:
        return f"image/{self.value}"

    @property
    def extension(self) -> str:
        return "jpg" if self is ImageFormat.jpeg else self.value

    @property
    def pillow_name(self) -> str:
        return self.value.upper()


class MalformedContainer(ValueError):
    """The file starts like a JPEG or PNG but is not one we accept; the message says why."""


@dataclass(frozen=True)
class Container:
    format: ImageFormat
    width: int
    height: int


def sniff_format(data: bytes) -> ImageFormat | None:
    if data.startswith(PNG_SIGNATURE):
        return ImageFormat.png
    if data.startswith(JPEG_SIGNATURE):
        return ImageFormat.jpeg
    return None


def inspect_container(data: bytes, *, strict: bool = True) -> Container:
    """The format and pixel size from the headers. `strict` (uploads) also refuses animation and trailing
    data; verification reads images as they come back from the world and only needs them whole."""
    image_format = sniff_format(data)
    if image_format is ImageFormat.png:
        width, height, end, animated = _walk_png(data)
    elif image_format is ImageFormat.jpeg:
        width, height, end, animated = _walk_jpeg(data)
    else:
        raise MalformedContainer("only JPEG and PNG images are accepted")
    if not (width and height):
        raise MalformedContainer("the image has no pixels")
    if strict and animated:
        raise MalformedContainer(animated)
    # NUL padding after the end is harmless and some encoders write it; anything else rides along.
    if strict and data[end:].strip(b"\x00"):
        raise MalformedContainer("the file carries other data after the end of the image")
    return Container(image_format, width, height)


def _walk_png(data: bytes) -> tuple[int, int, int, str | None]:
    position = len(PNG_SIGNATURE)
    width = height = None
    animated = None
    while True:
        if position + 12 > len(data):
            raise MalformedContainer("the PNG file is truncated")
        length, chunk_type = struct.unpack(">I4s", data[position : position + 8])
        body_end = position + 8 + length
        if body_end + 4 > len(data):
            raise MalformedContainer("the PNG file is truncated")
        body = data[position + 8 : body_end]
        (checksum,) = struct.unpack(">I", data[body_end : body_end + 4])
        if not chunk_type.isalpha() or zlib.crc32(chunk_type + body) != checksum:
            raise MalformedContainer("the PNG file is damaged (a chunk checksum does not match)")
        if width is None:
            if chunk_type != b"IHDR" or length != 13:
                raise MalformedContainer("the PNG file has no image header")
            width, height = struct.unpack(">II", body[:8])
        elif chunk_type == b"acTL":
            animated = "animated PNGs are not accepted"
        position = body_end + 4
        if chunk_type == b"IEND":
            return width, height, position, animated


# Inside entropy-coded JPEG data, 0xFF is followed by a stuffed 0x00, a restart marker or more 0xFF fill;
# any other byte after it starts the next segment.
_END_OF_SCAN = re.compile(rb"\xff(?![\x00\xd0-\xd7\xff])")
_START_OF_FRAME = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
_APP2_MULTI_PICTURE = b"MPF\x00"


def _walk_jpeg(data: bytes) -> tuple[int, int, int, str | None]:
    position = 2
    size = None
    animated = None
    while True:
        if position >= len(data):
            raise MalformedContainer("the JPEG file is truncated")
        if data[position] != 0xFF:
            raise MalformedContainer("the JPEG file is damaged (a segment is not where it should be)")
        while position < len(data) and data[position] == 0xFF:
            position += 1
        if position >= len(data):
            raise MalformedContainer("the JPEG file is truncated")
        marker = data[position]
        position += 1
        if marker == 0xD9:
            if size is None:
                raise MalformedContainer("the JPEG file has no image in it")
            return size[0], size[1], position, animated
        if marker in _STANDALONE:
            continue
        if position + 2 > len(data):
            raise MalformedContainer("the JPEG file is truncated")
        (length,) = struct.unpack(">H", data[position : position + 2])
        if length < 2 or position + length > len(data):
            raise MalformedContainer("the JPEG file is truncated")
        segment = data[position + 2 : position + length]
        position += length
        if marker in _START_OF_FRAME:
            if size is not None:
                animated = "JPEG files with several frames are not accepted"
            elif len(segment) < 5:
                raise MalformedContainer("the JPEG file has a damaged frame header")
            else:
                height, width = struct.unpack(">HH", segment[1:5])
                size = (width, height)
        elif marker == 0xE2 and segment.startswith(_APP2_MULTI_PICTURE):
            animated = "multi-picture JPEG files are not accepted"
        elif marker == 0xDA:
            scan_end = _END_OF_SCAN.search(data, position)
            if scan_end is None:
                raise MalformedContainer("the JPEG file is truncated")
            position = scan_end.start()
