"""A style's training images in storage: the clean original, the copy the trainer reads and a thumbnail."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from core import storage_keys
from core.images import CleanImage, EncodedImage, ImagePurpose, thumbnail, training_copy, validate_upload
from core.storage import ObjectStore


@dataclass(frozen=True)
class StoredArtwork:
    keys: storage_keys.ArtworkKeys
    width: int
    height: int


@dataclass(frozen=True)
class PreparedArtwork:
    """A validated upload with its derivatives, not yet stored."""

    clean: CleanImage
    training: EncodedImage
    thumbnail: EncodedImage


async def prepare_training_image(data: bytes) -> PreparedArtwork:
    """Validate an upload and make its derivatives; raises core.images.ImageRejected. Decoding and
    resampling are CPU work, so they run off the event loop."""

    def prepare() -> PreparedArtwork:
        clean = validate_upload(data, purpose=ImagePurpose.training)
        return PreparedArtwork(clean=clean, training=training_copy(clean), thumbnail=thumbnail(clean.pixels))

    return await asyncio.to_thread(prepare)


async def store_prepared_image(store: ObjectStore, style_id: int, prepared: PreparedArtwork) -> StoredArtwork:
    keys = storage_keys.artwork(style_id, prepared.clean.extension)
    for key, image, public in (
        (keys.original, prepared.clean, False),
        (keys.training, prepared.training, False),
        (keys.thumbnail, prepared.thumbnail, True),
    ):
        await store.put(key, image.data, content_type=image.content_type, public=public)
    return StoredArtwork(keys=keys, width=prepared.clean.width, height=prepared.clean.height)


async def store_training_image(store: ObjectStore, style_id: int, data: bytes) -> StoredArtwork:
    """Validate an upload and store it with its derivatives; a refused image leaves nothing behind."""
    return await store_prepared_image(store, style_id, await prepare_training_image(data))
