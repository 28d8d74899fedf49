"""Images that users upload (profile pictures, signatures), the URLs the API hands out for stored objects,
and, for the local storage backend, the route that serves those URLs."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from fastapi import APIRouter, Request, Response, UploadFile
from sqlalchemy.ext.asyncio import AsyncSession

from core import storage_keys
from core.images import MAX_UPLOAD_BYTES, ImagePurpose, ImageRejected, validate_upload
from core.storage import PRIVATE_CACHE_CONTROL, PUBLIC_CACHE_CONTROL, LocalObjectStore, ObjectNotFound, ObjectStore
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


def media_router(prefix: str) -> APIRouter:
    """`GET {prefix}/{key}` for the local backend: public keys as they are, private ones only with the
    unexpired signature `LocalObjectStore.url()` put in the query. S3 serves its own URLs."""
    router = APIRouter(prefix=prefix, tags=["media"])

    @router.get("/{key:path}", include_in_schema=False)
    async def media(key: str, request: Request, expires: str = "", signature: str = ""):
        store = object_store(request)
        try:
            storage_keys.check_key(key)
        except storage_keys.InvalidObjectKey:
            raise ApiError(errors.NOT_FOUND) from None
        public = storage_keys.is_public(key)
        if not isinstance(store, LocalObjectStore) or not (public or store.signed_url_is_valid(key, expires, signature)):
            raise ApiError(errors.NOT_FOUND)
        info = await store.head(key)
        try:
            data = await store.get(key)
        except ObjectNotFound:
            raise ApiError(errors.NOT_FOUND) from None
        cache = PUBLIC_CACHE_CONTROL if public else PRIVATE_CACHE_CONTROL
        return Response(data, media_type=info.content_type if info else None, headers={"Cache-Control": cache})

    return router
