"""Author metadata: PNG iTXt + XMP and JPEG EXIF + XMP, Korean text round-tripping, and reading that
hostile metadata cannot crash."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from PIL import Image

from core.image_format import ImageFormat
from core.image_metadata import (
    EXIF_ARTIST,
    EXIF_COPYRIGHT,
    ImageMetadata,
    encode_with_metadata,
    read_metadata,
    xmp_packet,
)
from core.provenance_info import TRAINED_ALGORITHMIC_MEDIA


def _decoded(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def _expected(info) -> ImageMetadata:
    return ImageMetadata(
        artist_name=info.artist_name, artist_id=info.artist_id, style_id=info.style_id,
        style_title=info.style_title, generation_id=info.generation_id, seed=info.seed,
        platform=info.platform, licence=info.licence, created_at=info.created_at.isoformat(),
    )


@pytest.mark.parametrize("image_format", [ImageFormat.png, ImageFormat.jpeg])
def test_every_field_round_trips_in_utf8(provenance_info, image_format):
    pixels = Image.new("RGB", (64, 64), (1, 2, 3))
    image = _decoded(encode_with_metadata(pixels, provenance_info, image_format))
    assert image.format == image_format.pillow_name
    assert read_metadata(image) == _expected(provenance_info)


def test_png_carries_itxt_chunks(provenance_info):
    data = encode_with_metadata(Image.new("RGB", (64, 64)), provenance_info, ImageFormat.png)
    assert data.count(b"iTXt") == 6
    text = _decoded(data).text
    assert text["Author"] == "김민아 Mina Kim"
    assert text["Copyright"] == provenance_info.licence
    assert text["Software"] == "Style License"
    assert text["Creation Time"] == "Thu, 27 Nov 2025 09:30:00 +0000"
    assert "수채화 정원" in text["Description"]


def test_jpeg_exif_artist_and_copyright_are_utf8(provenance_info):
    data = encode_with_metadata(Image.new("RGB", (64, 64)), provenance_info, ImageFormat.jpeg)
    assert "김민아 Mina Kim".encode() + b"\x00" in data
    exif = _decoded(data).getexif()
    assert exif[EXIF_ARTIST].encode("latin-1").decode().rstrip("\x00") == "김민아 Mina Kim"
    assert exif[EXIF_COPYRIGHT].encode("latin-1").decode().rstrip("\x00") == provenance_info.licence


def test_xmp_is_escaped_and_declares_ai_generation(provenance_info):
    tricky = replace(provenance_info, artist_name='<b>"Mina" & 김</b>')
    packet = xmp_packet(tricky)
    assert b"<b>" not in packet and TRAINED_ALGORITHMIC_MEDIA.encode() in packet
    image = _decoded(encode_with_metadata(Image.new("RGB", (64, 64)), tricky, ImageFormat.png))
    assert read_metadata(image).artist_name == '<b>"Mina" & 김</b>'


def test_without_xmp_the_plain_fields_are_read(provenance_info):
    exif = Image.Exif()
    exif[EXIF_ARTIST] = "김민아".encode()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, "JPEG", exif=exif)
    assert read_metadata(_decoded(buffer.getvalue())) == ImageMetadata(artist_name="김민아")


@pytest.mark.parametrize(
    "xmp",
    [
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>',
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><unclosed>",
        b"\xff\xfe not xml at all",
        b"<x:xmpmeta xmlns:x='adobe:ns:meta/'/>",
    ],
)
def test_hostile_or_empty_xmp_claims_nothing(xmp):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64)).save(buffer, "JPEG", xmp=xmp)
    assert read_metadata(_decoded(buffer.getvalue())) is None


def test_generated_images_are_png_or_jpeg(provenance_info):
    with pytest.raises(ValueError):
        encode_with_metadata(Image.new("RGB", (64, 64)), provenance_info, ImageFormat.webp)
