"""Signing a generated image: the one entry point a Serve replica calls between generating and storing.

The order is fixed: the visible signature first; then the watermark, on the signed pixels (so it also
covers the signature's corner); then the metadata, written while encoding; the C2PA manifest last, since it
binds the final bytes and any later re-save would drop it. `publish_generated_image` stores only the
result, so an unsigned image never reaches storage.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from PIL import Image

from core import storage_keys
from core.content_credentials import sign_content_credentials
from core.image_format import ImageFormat
from core.image_metadata import encode_with_metadata
from core.images import thumbnail
from core.provenance_info import ProvenanceInfo
from core.provenance_keys import ProvenanceKeys
from core.signature import ArtistMark, apply_signature
from core.storage import ObjectStore
from core.watermark import embed_generation_id


@dataclass(frozen=True)
class SignedImage:
    data: bytes
    format: ImageFormat
    pixels: Image.Image = field(repr=False, compare=False)  # what the bytes show: signed and watermarked

    @property
    def content_type(self) -> str:
        return self.format.content_type


def sign_generated_image(image: Image.Image, info: ProvenanceInfo, *, mark: ArtistMark, keys: ProvenanceKeys,
                         image_format: ImageFormat = ImageFormat.png) -> SignedImage:
    pixels = embed_generation_id(apply_signature(image, mark), info.generation_id, key=keys.watermark_key)
    encoded = encode_with_metadata(pixels, info, image_format)
    return SignedImage(sign_content_credentials(encoded, image_format, info, keys), image_format, pixels)


async def publish_generated_image(store: ObjectStore, image: Image.Image, info: ProvenanceInfo, *,
                                  mark: ArtistMark, keys: ProvenanceKeys,
                                  image_format: ImageFormat = ImageFormat.png) -> storage_keys.GenerationKeys:
    """Sign `image`, then store it and a thumbnail of the signed pixels in the public area."""
    signed = await asyncio.to_thread(
        sign_generated_image, image, info, mark=mark, keys=keys, image_format=image_format
    )
    preview = await asyncio.to_thread(thumbnail, signed.pixels)
    stored = storage_keys.generation(info.generation_id, image_format.extension)
    await store.put(stored.image, signed.data, content_type=signed.content_type, public=True)
    await store.put(stored.thumbnail, preview.data, content_type=preview.content_type, public=True)
    return stored
