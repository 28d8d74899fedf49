"""A style's training images in storage: the clean original, the copy the trainer reads and a thumbnail."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from core import storage_keys
from core.images import ImagePurpose, thumbnail, training_copy, validate_upload
from core.storage import ObjectStore


@dataclass(frozen=True)
class StoredArtwork:
    keys: storage_keys.ArtworkKeys
    width: int
    height: int


async def store_training_image(store: ObjectStore, style_id: int, data: bytes) -> StoredArtwork:
    """Validate an upload and store it with its derivatives. Raises core.images.ImageRejected before
    anything is written, so a refused image leaves nothing behind."""

    def prepare():  # decoding and resampling are CPU work: off the event loop
        clean = validate_upload(data, purpose=ImagePurpose.training)
        return clean, training_copy(clean), thumbnail(clean.pixels)

    clean, training, preview = await asyncio.to_thread(prepare)
    keys = storage_keys.artwork(style_id, clean.extension)
    for key, image, public in (
        (keys.original, clean, False),
        (keys.training, training, False),
        (keys.thumbnail, preview, True),
    ):
        await store.put(key, image.data, content_type=image.content_type, public=public)
    return StoredArtwork(keys=keys, width=clean.width, height=clean.height)
