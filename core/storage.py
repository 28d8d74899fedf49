"""Object storage: one interface, two backends.

`LocalObjectStore` keeps objects in a directory (the embedded default); `S3ObjectStore` talks to any
S3-compatible service (AWS, SeaweedFS, MinIO) with boto3, whose blocking calls run off the event loop.
Keys come from `core.storage_keys`; whether an object is public follows from its key, and `put` refuses a
`public` flag that disagrees, so nothing private lands where a user can reach it by mistake.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import quote, urlencode

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from core import storage_keys
from core.settings import StorageBackend, StorageSettings

PUBLIC_CACHE_CONTROL = "public, max-age=31536000, immutable"  # public keys are never rewritten
PRIVATE_CACHE_CONTROL = "private, no-store"


class ObjectNotFound(KeyError):
    pass


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    content_type: str


class ObjectStore(Protocol):
    async def put(self, key: str, data: bytes, *, content_type: str, public: bool = False) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def head(self, key: str) -> ObjectInfo | None: ...

    async def list(self, prefix: str) -> list[str]: ...

    async def delete(self, key: str) -> None: ...

    def url(self, key: str, *, expires_seconds: int | None = None) -> str:
        """Where a browser fetches the object: plain for public keys (when they are served publicly),
        signed and expiring for private ones. Computed locally, so it is not a coroutine."""
        ...


def _check_visibility(key: str, public: bool) -> None:
    storage_keys.check_key(key)
    if storage_keys.is_public(key) != public:
        area = "public" if public else "private"
        raise storage_keys.InvalidObjectKey(f"{key!r} is not in the {area} area")


class LocalObjectStore:
    """Objects as files under `root/`, their content types under `root/.meta/` (keys never start with a
    dot, so the two trees cannot collide). Writes go through a temporary file and a rename."""

    def __init__(self, root: Path, *, url_prefix: str, signing_key: str, default_ttl_seconds: int):
        self.root = root
        self._meta_root = root / ".meta"
        self._url_prefix = url_prefix.rstrip("/")
        self._signing_key = signing_key.encode()
        self._default_ttl = default_ttl_seconds

    def _path(self, key: str) -> Path:
        return self.root / storage_keys.check_key(key)

    def _meta_path(self, key: str) -> Path:
        return self._meta_root / f"{storage_keys.check_key(key)}.json"

    async def put(self, key: str, data: bytes, *, content_type: str, public: bool = False) -> None:
        _check_visibility(key, public)
        meta = json.dumps({"content_type": content_type}).encode()
        await asyncio.to_thread(self._write, self._path(key), data)
        await asyncio.to_thread(self._write, self._meta_path(key), meta)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise ObjectNotFound(key) from None

    async def head(self, key: str) -> ObjectInfo | None:
        return await asyncio.to_thread(self._head, key)

    def _head(self, key: str) -> ObjectInfo | None:
        try:
            size = self._path(key).stat().st_size
        except FileNotFoundError:
            return None
        try:
            content_type = json.loads(self._meta_path(key).read_bytes())["content_type"]
        except FileNotFoundError:  # a crash between the two writes of `put`
            content_type = "application/octet-stream"
        return ObjectInfo(key=key, size=size, content_type=content_type)

    async def list(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> list[str]:
        keys = []
        for area in (storage_keys.PUBLIC, storage_keys.PRIVATE):
            for path in (self.root / area).rglob("*"):
                key = path.relative_to(self.root).as_posix()
                if path.is_file() and key.startswith(prefix) and not path.name.startswith(".incoming-"):
                    keys.append(key)
        return sorted(keys)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
        await asyncio.to_thread(self._meta_path(key).unlink, missing_ok=True)

    def url(self, key: str, *, expires_seconds: int | None = None) -> str:
        path = f"{self._url_prefix}/{quote(storage_keys.check_key(key))}"
        if storage_keys.is_public(key):
            return path
        expires = int(time.time()) + (expires_seconds or self._default_ttl)
        return f"{path}?{urlencode({'expires': expires, 'signature': self._signature(key, expires)})}"

    def _signature(self, key: str, expires: int) -> str:
        digest = hmac.new(self._signing_key, f"{key}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def signed_url_is_valid(self, key: str, expires: str, signature: str) -> bool:
        """For the API route that serves `url()`s: the signature matches this key and has not expired."""
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self._signature(key, int(expires)), signature)


class S3ObjectStore:
    def __init__(self, settings: StorageSettings):
        self.bucket = settings.s3_bucket
        self._default_ttl = settings.presigned_url_ttl_seconds
        self._public_base_url = (settings.s3_public_base_url or "").rstrip("/")
        # Path-style addressing: S3-compatible servers rarely have wildcard DNS for virtual-host buckets.
        addressing = "path" if settings.s3_endpoint_url else "auto"
        self._client = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            region_name=settings.s3_region,
            aws_access_key_id=settings.s3_access_key_id,
            aws_secret_access_key=settings.s3_secret_access_key,
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": addressing},
                retries={"mode": "standard", "max_attempts": 3},
                connect_timeout=5,
                read_timeout=30,
            ),
        )

    async def put(self, key: str, data: bytes, *, content_type: str, public: bool = False) -> None:
        _check_visibility(key, public)
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type,
            CacheControl=PUBLIC_CACHE_CONTROL if public else PRIVATE_CACHE_CONTROL,
        )

    async def get(self, key: str) -> bytes:
        storage_keys.check_key(key)
        return await asyncio.to_thread(self._get, key)

    def _get(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                raise ObjectNotFound(key) from None
            raise
        with response["Body"] as body:
            return body.read()

    async def head(self, key: str) -> ObjectInfo | None:
        storage_keys.check_key(key)
        try:
            response = await asyncio.to_thread(self._client.head_object, Bucket=self.bucket, Key=key)
        except ClientError as error:
            if _is_not_found(error):
                return None
            raise
        return ObjectInfo(key=key, size=response["ContentLength"], content_type=response["ContentType"])

    async def list(self, prefix: str) -> list[str]:
        return await asyncio.to_thread(self._list, prefix)

    def _list(self, prefix: str) -> list[str]:
        pages = self._client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sorted(item["Key"] for page in pages for item in page.get("Contents", []))

    async def delete(self, key: str) -> None:
        storage_keys.check_key(key)
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=key)

    def url(self, key: str, *, expires_seconds: int | None = None) -> str:
        storage_keys.check_key(key)
        if self._public_base_url and storage_keys.is_public(key):
            return f"{self._public_base_url}/{quote(key)}"
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": key},
            ExpiresIn=expires_seconds or self._default_ttl,
        )


def _is_not_found(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


def create_object_store(settings: StorageSettings) -> ObjectStore:
    if settings.backend is StorageBackend.local:
        return LocalObjectStore(
            settings.local_dir,
            url_prefix=settings.local_url_prefix,
            signing_key=settings.url_signing_key,
            default_ttl_seconds=settings.presigned_url_ttl_seconds,
        )
    if settings.backend is StorageBackend.s3_local and not settings.s3_endpoint_url:
        raise ValueError("SL_STORAGE=s3-local needs the SeaweedFS endpoint that `make run` starts")
    return S3ObjectStore(settings)
