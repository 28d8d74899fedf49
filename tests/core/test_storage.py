"""Object storage: one contract for the local directory and S3 (a real SeaweedFS server), presigned and
HMAC-signed URLs that stop working when tampered with or expired, and the key layout's guard rails."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from cluster.seaweedfs import SeaweedServer
from core import storage_keys
from core.images import ImagePurpose
from core.settings import StorageBackend, StorageSettings
from core.storage import LocalObjectStore, ObjectInfo, ObjectNotFound, S3ObjectStore, create_object_store
from tests.core.conftest import s3_settings

PRIVATE_KEY = "private/styles/1/artworks/abc/original.png"
PUBLIC_KEY = "public/generations/5/xyz.png"


def test_put_get_head_list_delete(store):
    asyncio.run(store.put(PRIVATE_KEY, b"private bytes", content_type="image/png"))
    asyncio.run(store.put(PUBLIC_KEY, b"public bytes", content_type="image/png", public=True))
    asyncio.run(store.put("private/styles/2/runs/9/manifest.json", b"{}", content_type="application/json"))

    assert asyncio.run(store.get(PRIVATE_KEY)) == b"private bytes"
    assert asyncio.run(store.head(PUBLIC_KEY)) == ObjectInfo(PUBLIC_KEY, 12, "image/png")
    assert asyncio.run(store.list("private/styles/1/")) == [PRIVATE_KEY]
    everything = [PRIVATE_KEY, PUBLIC_KEY, "private/styles/2/runs/9/manifest.json"]
    assert asyncio.run(store.list("")) == sorted(everything)

    asyncio.run(store.put(PRIVATE_KEY, b"replaced", content_type="image/jpeg"))
    assert asyncio.run(store.get(PRIVATE_KEY)) == b"replaced"
    assert asyncio.run(store.head(PRIVATE_KEY)).content_type == "image/jpeg"

    asyncio.run(store.delete(PRIVATE_KEY))
    asyncio.run(store.delete(PRIVATE_KEY))  # deleting what is gone is fine
    assert asyncio.run(store.head(PRIVATE_KEY)) is None
    with pytest.raises(ObjectNotFound):
        asyncio.run(store.get(PRIVATE_KEY))
    assert asyncio.run(store.list("private/styles/1/")) == []


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "/private/a.png", "private/../public/a.png", "private//a.png", "private/.hidden",
     "other/a.png", "private/a b.png", "private/", "public/" + "a" * 600],
)
def test_keys_that_could_escape_are_refused(store, key):
    with pytest.raises(storage_keys.InvalidObjectKey):
        asyncio.run(store.put(key, b"x", content_type="image/png", public=key.startswith("public/")))
    with pytest.raises(storage_keys.InvalidObjectKey):
        asyncio.run(store.get(key))


def test_the_public_flag_must_match_the_key(store):
    """An unsigned or private image cannot be written into the public area by a slip of a flag."""
    with pytest.raises(storage_keys.InvalidObjectKey):
        asyncio.run(store.put(PRIVATE_KEY, b"x", content_type="image/png", public=True))
    with pytest.raises(storage_keys.InvalidObjectKey):
        asyncio.run(store.put(PUBLIC_KEY, b"x", content_type="image/png", public=False))
    assert asyncio.run(store.list("")) == []


def test_presigned_url_serves_the_object_and_refuses_tampering(s3_store: S3ObjectStore):
    asyncio.run(s3_store.put(PRIVATE_KEY, b"\x89PNG private", content_type="image/png"))
    url = s3_store.url(PRIVATE_KEY)

    response = httpx.get(url)
    assert response.status_code == 200
    assert response.content == b"\x89PNG private"
    assert response.headers["content-type"] == "image/png"

    assert httpx.get(url.replace("Signature=", "Signature=0")).status_code == 403
    assert httpx.get(url.replace("original.png", "other.png")).status_code == 403
    assert httpx.get(url.split("?")[0]).status_code == 403  # no anonymous access to the bucket


def test_an_expired_presigned_url_is_refused(s3_store: S3ObjectStore):
    asyncio.run(s3_store.put(PRIVATE_KEY, b"soon gone", content_type="image/png"))
    url = s3_store.url(PRIVATE_KEY, expires_seconds=1)
    time.sleep(2.1)  # S3 signatures count whole seconds
    response = httpx.get(url)
    assert response.status_code == 403
    assert "expired" in response.text.lower()


def test_public_objects_get_plain_urls_when_served_publicly(seaweedfs: SeaweedServer):
    store = S3ObjectStore(s3_settings(seaweedfs, s3_public_base_url="https://cdn.example.com/"))
    assert store.url(PUBLIC_KEY) == f"https://cdn.example.com/{PUBLIC_KEY}"
    assert "X-Amz-Signature=" in store.url(PRIVATE_KEY)


def test_local_urls_are_plain_for_public_and_signed_for_private(local_store: LocalObjectStore):
    assert local_store.url(PUBLIC_KEY) == f"/media/{PUBLIC_KEY}"
    url = local_store.url(PRIVATE_KEY)
    assert url.split("?")[0] == f"/media/{PRIVATE_KEY}"
    expires, signature = _query(url)["expires"], _query(url)["signature"]
    assert local_store.signed_url_is_valid(PRIVATE_KEY, expires, signature)

    tampered = ("B" if signature[0] == "A" else "A") + signature[1:]  # a different first character, always
    assert not local_store.signed_url_is_valid(PRIVATE_KEY, expires, tampered)
    assert not local_store.signed_url_is_valid(PUBLIC_KEY, expires, signature)
    assert not local_store.signed_url_is_valid(PRIVATE_KEY, str(int(expires) + 1), signature)
    assert not local_store.signed_url_is_valid(PRIVATE_KEY, "soon", signature)
    expired = _query(local_store.url(PRIVATE_KEY, expires_seconds=-1))
    assert not local_store.signed_url_is_valid(PRIVATE_KEY, expired["expires"], expired["signature"])


def _query(url: str) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(url).query))


def test_local_store_leaves_no_partial_files(local_store: LocalObjectStore):
    asyncio.run(local_store.put(PRIVATE_KEY, b"x" * 1000, content_type="image/png"))
    root = local_store.root
    files = sorted(path.relative_to(root).as_posix() for path in root.rglob("*") if path.is_file())
    assert files == [f".meta/{PRIVATE_KEY}.json", PRIVATE_KEY]


def test_create_object_store_picks_the_backend(tmp_path, seaweedfs):
    assert isinstance(create_object_store(StorageSettings(local_dir=tmp_path)), LocalObjectStore)
    assert isinstance(create_object_store(s3_settings(seaweedfs)), S3ObjectStore)
    with pytest.raises(ValueError, match="s3-local"):
        create_object_store(StorageSettings(backend=StorageBackend.s3_local))


def test_key_layout_separates_public_from_private():
    artwork = storage_keys.artwork(12, "jpg")
    generation = storage_keys.generation(34, "png")
    private = [artwork.original, artwork.training, storage_keys.user_upload(ImagePurpose.signature, 5, "png"),
               storage_keys.training_run(12, 3) + "adapter.safetensors"]
    public = [artwork.thumbnail, generation.image, generation.thumbnail,
              storage_keys.user_upload(ImagePurpose.profile, 5, "png")]
    for key in private + public:
        assert storage_keys.check_key(key) == key
    assert not any(storage_keys.is_public(key) for key in private)
    assert all(storage_keys.is_public(key) for key in public)
    assert storage_keys.generation(34, "png").image != generation.image  # unguessable, never reused
