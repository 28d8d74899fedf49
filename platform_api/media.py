"""Images that users upload (profile pictures, signatures) and the URLs the API hands out for stored ones."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from fastapi import Request, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from core import storage_keys
from core.images import MAX_UPLOAD_BYTES, ImagePurpose, ImageRejected, validate_upload
from core.storage import ObjectStore
from platform_api import errors
from platform_api.database import after_commit
from platform_api.errors import ApiError
from platform_api.users.schemas import ImageUrl


def object_store(request: Request) -> ObjectStore:
    return request.app.state.object_store


def image_url_for(request: Request) -> ImageUrl:
    store = object_store(request)
    return lambda key: store.url(key) if key else None


async def store_upload(request: Request, upload: UploadFile, *, purpose: ImagePurpose, owner_id: int) -> str:
    """Validate an uploaded image and store its clean re-encoding; returns the object key.

    Nothing is stored when the image is refused.
    """
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    try:
        # Decoding and re-encoding is CPU work: keep it off the event loop.
        clean = await asyncio.to_thread(validate_upload, data, purpose=purpose)
    except ImageRejected as rejected:
        raise ApiError(errors.ALL_CODES[rejected.code], details={"reason": rejected.reason}) from None
    key = storage_keys.user_upload(purpose, owner_id, clean.extension)
    await object_store(request).put(key, clean.data, content_type=clean.content_type, public=purpose.is_public)
    return key


def delete_objects_later(request: Request, db: AsyncSession, keys: Iterable[str | None]) -> None:
    """Delete stored objects once the transaction that stopped referencing them has committed."""
    store = object_store(request)
    for key in keys:
        if key:
            after_commit(db, lambda key=key: store.delete(key))
