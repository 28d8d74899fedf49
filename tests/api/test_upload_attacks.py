"""Attacks on every endpoint that takes an image (spec §2.1.2, §10.4): the bad-image corpus of
tests/core/image_corpus.py sent to style creation, the profile picture, an artist-to-be's signature and
verification. Each file is refused with its code and leaves nothing stored, but for what the endpoint takes on
purpose: a profile picture or a signature may be small, and verification reads any JPEG or PNG, damaged or
animated, and finds it proves nothing. An upload over the multipart limit is 413, declared or streamed."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.images import IMAGE_TOO_SMALL, INVALID_IMAGE_FORMAT
from db.models import User
from platform_api.app import create_app
from tests.core.image_corpus import BAD_UPLOADS, sample_artwork, save_image
from tests.factories import make_artist
from tests.helpers import assert_error, csrf_headers, dev_login, settings_for_tests
from tests.stubs.compute import without_ray
from tests.training.conftest import training_images

_uploaders = itertools.count(1)
JPEG_OR_PNG = (b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n")


@functools.cache
def _corpus(name: str) -> bytes:
    return BAD_UPLOADS[name][0]()


@functools.cache
def _nine_good_images() -> list[bytes]:
    return training_images(9)


def _style(client: TestClient, image: bytes):
    files = [("images", (f"a{i}.png", data, "image/png")) for i, data in enumerate([image, *_nine_good_images()])]
    form = {"title": "Ink Wash", "generation_cost_tokens": "5", "tags": json.dumps([["mountain"]] * 10)}
    return client.post("/api/v1/styles", data=form, files=files, headers=csrf_headers(client))


def _profile_picture(client: TestClient, image: bytes):
    return client.put("/api/v1/users/me/profile-image", files={"image": ("me.png", image, "image/png")},
                      headers=csrf_headers(client))


def _signature(client: TestClient, image: bytes):
    form = {"artist_name": "Mina Kim", "verified_email": "studio@example.com"}
    return client.post("/api/v1/users/me/upgrade-to-artist", data=form,
                       files={"signature_image": ("signature.png", image, "image/png")}, headers=csrf_headers(client))


def _verification(client: TestClient, image: bytes):
    return client.post("/api/v1/verify", files={"image": ("found.png", image, "application/octet-stream")})


@dataclass(frozen=True)
class UploadEndpoint:
    send: Callable[[TestClient, bytes], object]
    caller: str  # who may send it: "artist", "fan" or "anyone"
    small_images_welcome: bool = True  # only training images must be 512×512 or more
    reads_any_jpeg_or_png: bool = False  # verification: a damaged copy may still carry its credentials


ENDPOINTS = {
    "style images": UploadEndpoint(_style, "artist", small_images_welcome=False),
    "profile picture": UploadEndpoint(_profile_picture, "fan"),
    "signature": UploadEndpoint(_signature, "fan"),
    "verification": UploadEndpoint(_verification, "anyone", reads_any_jpeg_or_png=True),
}


@pytest.fixture(scope="module")
def app(database_url: str, tmp_path_factory):
    return without_ray(create_app(settings_for_tests(database_url, tmp_path_factory.mktemp("uploads"))))


@pytest.fixture(scope="module")
def browser(app) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _sign_in(browser: TestClient, db, caller: str) -> None:
    browser.cookies.clear()
    if caller == "anyone":
        return
    user = dev_login(browser, f"uploader{next(_uploaders)}@example.com")
    if caller == "artist":
        make_artist(db, user=db.get(User, user["id"]))
        db.commit()


def _stored(browser: TestClient) -> list[str]:
    return asyncio.run(browser.app.state.object_store.list(""))


@pytest.mark.parametrize("image", BAD_UPLOADS)
@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_every_bad_image_is_refused_by_every_upload_endpoint_and_nothing_is_stored(browser, db, endpoint, image):
    upload = ENDPOINTS[endpoint]
    _sign_in(browser, db, upload.caller)
    before = _stored(browser)
    data, code = _corpus(image), BAD_UPLOADS[image][1]
    response = upload.send(browser, data)
    if code == IMAGE_TOO_SMALL and upload.small_images_welcome:
        assert response.status_code == 200, response.text
    elif code == INVALID_IMAGE_FORMAT and upload.reads_any_jpeg_or_png and data.startswith(JPEG_OR_PNG):
        assert response.status_code == 200, response.text
        found = response.json()["data"]
        assert (found["proof"], found["generation"], found["watermark_generation_id"]) == (None, None, None)
    else:
        assert assert_error(response, 422, code)["details"]["reason"]
        assert _stored(browser) == before


@pytest.fixture
def fan_with_a_small_limit(database_url, tmp_path, clean_database) -> Iterator[TestClient]:
    settings = settings_for_tests(database_url, tmp_path)
    settings.app.max_multipart_body_bytes = 256 * 1024
    with TestClient(without_ray(create_app(settings))) as client:
        dev_login(client, "fan@example.com")
        yield client


def _multipart(image: bytes) -> tuple[bytes, str]:
    boundary = "attack-boundary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="image"; filename="me.png"\r\n'
            "Content-Type: image/png\r\n\r\n").encode() + image + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize("declared", [True, False], ids=["declared", "streamed"])
def test_an_upload_over_the_multipart_limit_is_413_and_stores_nothing(fan_with_a_small_limit, db, declared):
    client = fan_with_a_small_limit
    body, content_type = _multipart(save_image(sample_artwork(640, 640), "PNG") * 2)
    assert len(body) > 256 * 1024
    content = body if declared else (body[i:i + 16_384] for i in range(0, len(body), 16_384))
    response = client.put("/api/v1/users/me/profile-image", content=content,
                          headers=csrf_headers(client) | {"Content-Type": content_type})
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert _stored(client) == [] and db.scalars(select(User.profile_image_key)).one() is None
