"""Upload validation (spec §2.1.2): a corpus of bad files, each refused with the right code before anything
is stored, and a corpus of awkward but valid ones, each stored only as a clean RGB(A) re-encoding."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image, ImageCms, PngImagePlugin

from core.artworks import store_training_image
from core.images import IMAGE_TOO_SMALL, ImagePurpose, ImageRejected, validate_upload
from tests.core.image_corpus import BAD_UPLOADS, SCRIPT, png_from_rows, sample_artwork, save_image


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_bad_uploads_are_refused_with_their_code_and_store_nothing(name, local_store):
    build, code = BAD_UPLOADS[name]
    data = build()
    with pytest.raises(ImageRejected) as refused:
        asyncio.run(store_training_image(local_store, 1, data))
    assert refused.value.code == code
    assert refused.value.reason.endswith(".") and len(refused.value.reason) > 10
    assert asyncio.run(local_store.list("")) == []


def _cmyk_jpeg() -> bytes:
    return save_image(Image.new("CMYK", (640, 640), (0, 255, 255, 0)), "JPEG", quality=95)


def _sixteen_bit_rgb_png() -> bytes:
    ramp = np.linspace(0, 65535, 640).astype(">u2")
    row = np.stack([ramp, ramp[::-1], np.full(640, 0x8000, ">u2")], axis=-1).tobytes()
    return png_from_rows(640, 600, 16, 2, (row for _ in range(600)))


def _sixteen_bit_grey_png() -> bytes:
    return save_image(Image.fromarray(np.full((600, 640), 0x8080, dtype=np.uint16)), "PNG")


def _palette_png_with_transparency() -> bytes:
    palette = sample_artwork().quantize(colors=16)
    pixels = np.asarray(palette).copy()
    pixels[:100, :] = 15  # a transparent band across the top
    image = Image.fromarray(pixels, mode="P")
    image.putpalette(palette.getpalette())
    return save_image(image, "PNG", transparency=15)


def _exif_rotated_jpeg() -> bytes:
    """Stored 600 wide and 800 tall with a red top band; EXIF says: turn it 90° clockwise to view."""
    image = Image.new("RGB", (600, 800), (20, 20, 200))
    image.paste((230, 20, 20), (0, 0, 600, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    return save_image(image, "JPEG", exif=exif, quality=95)


def _jpeg_with_script_in_exif() -> bytes:
    exif = Image.Exif()
    exif[0x010E] = SCRIPT.decode()  # ImageDescription
    exif[0x013B] = "Someone Else"  # Artist
    return save_image(sample_artwork(), "JPEG", exif=exif, comment=SCRIPT, quality=90)


def _png_with_text_and_profile() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", SCRIPT.decode())
    xmp = "<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + SCRIPT.decode() + "</x:xmpmeta>"
    text.add_itxt("XML:com.adobe.xmp", xmp)
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    return save_image(sample_artwork(), "PNG", pnginfo=text, icc_profile=profile)


AWKWARD_UPLOADS = {
    "CMYK JPEG": (_cmyk_jpeg, "RGB"),
    "16-bit RGB PNG": (_sixteen_bit_rgb_png, "RGB"),
    "16-bit greyscale PNG": (_sixteen_bit_grey_png, "RGB"),
    "palette PNG with transparency": (_palette_png_with_transparency, "RGB"),
    "EXIF-rotated JPEG": (_exif_rotated_jpeg, "RGB"),
    "JPEG with a script in its EXIF and comment": (_jpeg_with_script_in_exif, "RGB"),
    "PNG with text chunks and an ICC profile": (_png_with_text_and_profile, "RGB"),
}
INCOMING_METADATA = ("exif", "icc_profile", "xmp", "XML:com.adobe.xmp", "comment", "transparency", "Comment")


def assert_clean(data: bytes, mode: str) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.mode == mode
    assert not image.getexif()
    assert not set(INCOMING_METADATA) & set(image.info)
    assert not getattr(image, "text", {})
    for trace in (SCRIPT, b"Exif\x00", b"ns.adobe.com", b"Someone Else"):
        assert trace not in data
    return image


@pytest.mark.parametrize("name", AWKWARD_UPLOADS)
def test_awkward_uploads_are_stored_as_clean_reencodings(name, local_store):
    build, mode = AWKWARD_UPLOADS[name]
    stored = asyncio.run(store_training_image(local_store, 7, build()))

    assert sorted(asyncio.run(local_store.list(""))) == sorted(
        [stored.keys.original, stored.keys.training, stored.keys.thumbnail]
    )
    original = assert_clean(asyncio.run(local_store.get(stored.keys.original)), mode)
    assert original.size == (stored.width, stored.height)
    training = assert_clean(asyncio.run(local_store.get(stored.keys.training)), "RGB")
    assert (training.format, training.size) == ("PNG", (stored.width, stored.height))  # whole, in its own shape
    thumbnail = Image.open(io.BytesIO(asyncio.run(local_store.get(stored.keys.thumbnail))))
    assert (thumbnail.format, thumbnail.size) == ("WEBP", (256, 256))


def test_a_large_upload_trains_from_a_copy_of_its_whole_picture_at_sdxls_pixel_count(local_store):
    stored = asyncio.run(store_training_image(local_store, 7, save_image(sample_artwork(2400, 1200), "PNG")))
    training = Image.open(io.BytesIO(asyncio.run(local_store.get(stored.keys.training))))
    assert training.size == (1448, 724)  # 2:1 kept, 1024² pixels at most


def test_exif_orientation_is_applied():
    clean = validate_upload(_exif_rotated_jpeg(), purpose=ImagePurpose.training)
    assert (clean.width, clean.height) == (800, 600)
    right_edge, left_edge = clean.pixels.getpixel((790, 300)), clean.pixels.getpixel((10, 300))
    assert right_edge[0] > 180 > right_edge[2]  # the red band is now on the right
    assert left_edge[2] > 150 > left_edge[0]


def test_cmyk_and_sixteen_bit_colours_survive_normalisation():
    red = validate_upload(_cmyk_jpeg(), purpose=ImagePurpose.training).pixels.getpixel((320, 320))
    assert red[0] > 200 and red[1] < 60 and red[2] < 60
    grey = validate_upload(_sixteen_bit_grey_png(), purpose=ImagePurpose.training).pixels.getpixel((5, 5))
    assert grey == (128, 128, 128)  # the high byte, not clipped to white
    ramp = validate_upload(_sixteen_bit_rgb_png(), purpose=ImagePurpose.training).pixels
    assert ramp.getpixel((0, 0))[0] < 5 and ramp.getpixel((639, 0))[0] > 250


def test_transparency_is_kept_where_the_purpose_wants_it():
    upload = _palette_png_with_transparency()
    signature = validate_upload(upload, purpose=ImagePurpose.signature)
    assert (signature.format, signature.pixels.mode) == ("png", "RGBA")
    assert signature.pixels.getpixel((5, 5))[3] == 0
    assert_clean(signature.data, "RGBA")
    training = validate_upload(upload, purpose=ImagePurpose.training)
    assert training.pixels.getpixel((5, 5)) == (255, 255, 255)  # flattened onto white


def test_formats_follow_the_content_not_the_declared_type():
    jpeg = validate_upload(save_image(sample_artwork(), "JPEG"), purpose=ImagePurpose.training)
    assert (jpeg.content_type, jpeg.extension) == ("image/jpeg", "jpg")
    png = validate_upload(save_image(sample_artwork(), "PNG"), purpose=ImagePurpose.training)
    assert (png.content_type, png.extension) == ("image/png", "png")


def test_profile_and_signature_images_may_be_small():
    small = save_image(Image.new("RGBA", (64, 64), (200, 30, 30, 128)), "PNG")
    assert validate_upload(small, purpose=ImagePurpose.profile).width == 64
    with pytest.raises(ImageRejected) as refused:
        validate_upload(save_image(Image.new("RGB", (16, 16)), "PNG"), purpose=ImagePurpose.profile)
    assert refused.value.code == IMAGE_TOO_SMALL
    assert ImagePurpose.profile.is_public and not ImagePurpose.signature.is_public
    assert not ImagePurpose.training.is_public


def test_nul_padding_after_the_end_is_tolerated():
    assert validate_upload(save_image(sample_artwork(), "JPEG") + bytes(16), purpose=ImagePurpose.training).width == 640
