"""The rules for images users upload (spec §2.1.2) and the derivatives made from them (spec §12.4).

`validate_upload` refuses what is not a whole, single-frame JPEG or PNG within the limits, and turns what
it accepts into a clean re-encoding: orientation applied, pixels in RGB or RGBA, no incoming metadata
(EXIF, XMP, ICC, comments, text chunks), so nothing a user smuggled in ever reaches storage.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
from PIL import Image, ImageOps

from core.image_format import ImageFormat, MalformedContainer, inspect_container

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
# A decoded 40-megapixel RGBA image is 160 MB: room for print-size artwork, nowhere near a decompression bomb.
MAX_PIXELS = 40_000_000
# The most pixels a base model trains at (SDXL's 1024²): more would only be thrown away by the trainer.
TRAINING_COPY_MAX_PIXELS = 1024 * 1024
THUMBNAIL_SIZE = 256
JPEG_QUALITY = 95
THUMBNAIL_QUALITY = 80
FLATTEN_BACKGROUND = (255, 255, 255)

INVALID_IMAGE_FORMAT = "INVALID_IMAGE_FORMAT"
IMAGE_SIZE_EXCEEDED = "IMAGE_SIZE_EXCEEDED"
IMAGE_TOO_SMALL = "IMAGE_TOO_SMALL"


class ImageRejected(ValueError):
    """`code` is the API error code; `reason` says, in a sentence for people, what is wrong."""

    def __init__(self, code: str, reason: str):
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class PurposeRules:
    min_side: int
    keeps_alpha: bool
    is_public: bool


class ImagePurpose(StrEnum):
    training = "training"
    profile = "profile"
    signature = "signature"

    @property
    def rules(self) -> PurposeRules:
        return _RULES[self]

    @property
    def is_public(self) -> bool:
        return self.rules.is_public


_RULES = {
    # Training images feed the LoRA as RGB; transparency is flattened onto white.
    ImagePurpose.training: PurposeRules(min_side=512, keeps_alpha=False, is_public=False),
    ImagePurpose.profile: PurposeRules(min_side=32, keeps_alpha=True, is_public=True),
    # A signature is composited onto generated images, so its transparency is the point.
    ImagePurpose.signature: PurposeRules(min_side=32, keeps_alpha=True, is_public=False),
}


@dataclass(frozen=True)
class EncodedImage:
    data: bytes
    format: ImageFormat
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return self.format.content_type

    @property
    def extension(self) -> str:
        return self.format.extension


@dataclass(frozen=True)
class CleanImage(EncodedImage):
    """An accepted upload: the clean bytes to store, and their pixels for making derivatives."""

    pixels: Image.Image = field(repr=False, compare=False, kw_only=True)


def decode_image(data: bytes, *, strict: bool = True) -> tuple[ImageFormat, Image.Image]:
    """The format and fully decoded pixels of a JPEG or PNG within the size limits; ImageRejected otherwise.
    `strict` is for uploads (see `inspect_container`)."""
    if not data:
        raise ImageRejected(INVALID_IMAGE_FORMAT, "The file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(IMAGE_SIZE_EXCEEDED, f"The file is larger than {MAX_UPLOAD_BYTES // 2**20} MB.")
    try:
        container = inspect_container(data, strict=strict)
    except MalformedContainer as error:
        raise ImageRejected(INVALID_IMAGE_FORMAT, f"{str(error).capitalize()}.") from None
    if container.width * container.height > MAX_PIXELS:
        raise ImageRejected(
            IMAGE_SIZE_EXCEEDED,
            f"The image is {container.width}×{container.height} pixels, more than the "
            f"{MAX_PIXELS // 1_000_000}-megapixel limit.",
        )
    try:
        image = Image.open(io.BytesIO(data), formats=[container.format.pillow_name])
        image.load()
    # Pillow's decoders raise many types on damaged input; every one of them means the same to the user.
    except Exception:
        raise ImageRejected(INVALID_IMAGE_FORMAT, "The image data is damaged or incomplete.") from None
    return container.format, image


def validate_upload(data: bytes, *, purpose: ImagePurpose) -> CleanImage:
    image_format, image = decode_image(data)
    rules = purpose.rules
    if min(image.size) < rules.min_side:
        raise ImageRejected(
            IMAGE_TOO_SMALL,
            f"The image is {image.width}×{image.height} pixels; it must be at least "
            f"{rules.min_side}×{rules.min_side}.",
        )
    try:
        upright = ImageOps.exif_transpose(image)
    except Exception:  # a damaged EXIF block: the orientation cannot be trusted
        raise ImageRejected(INVALID_IMAGE_FORMAT, "The image's orientation data is damaged.") from None
    pixels = normalise(upright, keep_alpha=rules.keeps_alpha)
    # JPEG stays JPEG (re-encoding as PNG would triple the size); PNG and anything transparent stays PNG.
    stays_jpeg = image_format is ImageFormat.jpeg and pixels.mode == "RGB"
    encoded = encode(pixels, ImageFormat.jpeg if stays_jpeg else ImageFormat.png)
    return CleanImage(encoded.data, encoded.format, encoded.width, encoded.height, pixels=pixels)


def normalise(image: Image.Image, *, keep_alpha: bool) -> Image.Image:
    """8-bit RGB, or RGBA when the image has real transparency and the caller keeps it; no metadata."""
    if image.mode in ("I", "I;16", "I;16L", "I;16B"):
        # 16-bit greyscale: keep the high byte; a plain convert("L") would clip everything above 255 to white.
        image = Image.fromarray((np.asarray(image, dtype=np.uint32) >> 8).astype(np.uint8))
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        if rgba.getextrema()[3][0] == 255:  # declared but fully opaque
            normalised = rgba.convert("RGB")
        elif keep_alpha:
            normalised = rgba
        else:
            normalised = flatten(rgba)
    else:
        normalised = image.convert("RGB")
    normalised.info = {}
    return normalised


def flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency composited onto white."""
    if image.mode != "RGBA":
        return image.convert("RGB")
    background = Image.new("RGB", image.size, FLATTEN_BACKGROUND)
    background.paste(image, mask=image.getchannel("A"))
    return background


def encode(image: Image.Image, image_format: ImageFormat) -> EncodedImage:
    """Encodes the pixels alone: Pillow is never handed EXIF, ICC or text to carry along."""
    buffer = io.BytesIO()
    if image_format is ImageFormat.jpeg:
        image.save(buffer, "JPEG", quality=JPEG_QUALITY, subsampling=0)
    elif image_format is ImageFormat.png:
        image.save(buffer, "PNG", compress_level=6)
    else:
        image.save(buffer, "WEBP", quality=THUMBNAIL_QUALITY, method=4)
    return EncodedImage(buffer.getvalue(), image_format, image.width, image.height)


def training_copy(image: CleanImage) -> EncodedImage:
    """The RGB copy the trainer reads: the whole picture in its own shape (the trainer picks the aspect-ratio
    bucket), reduced to at most TRAINING_COPY_MAX_PIXELS."""
    pixels = flatten(image.pixels)
    scale = math.sqrt(TRAINING_COPY_MAX_PIXELS / (pixels.width * pixels.height))
    if scale < 1:
        pixels = pixels.resize((round(pixels.width * scale), round(pixels.height * scale)), Image.Resampling.LANCZOS)
    return encode(pixels, ImageFormat.png)


def thumbnail(image: Image.Image) -> EncodedImage:
    """A 256×256 centre-cropped WebP preview (of an upload's pixels or of a signed generated image)."""
    square = ImageOps.fit(image, (THUMBNAIL_SIZE,) * 2, Image.Resampling.LANCZOS)
    return encode(square, ImageFormat.webp)
