"""`POST /api/v1/verify`: anyone uploads an image and learns which artist, style and generation it
provably comes from, through its content credentials or, on a re-encoded copy, its watermark."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from PIL import Image

from core.provenance import sign_generated_image
from core.provenance_info import ProvenanceInfo
from core.settings import ProvenanceSettings, Settings
from core.signature import ArtistMark
from db.models import Generation
from platform_api.app import API_PREFIX, create_app
from tests.core.artwork import synthetic_artwork
from tests.factories import make_artist, make_style
from tests.helpers import assert_error


@pytest.fixture
def verifier(settings: Settings, clean_database: None) -> Iterator[TestClient]:
    settings.provenance = ProvenanceSettings(watermark_key="verify-test-watermark-key-" + "w" * 16)
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def generation(db) -> Generation:
    artist = make_artist(db, artist_name="김민아")
    style = make_style(db, artist=artist, title="Watercolour Garden")
    row = Generation(
        user_id=artist.user_id, style_id=style.id, status="completed", prompt_tags=["garden"],
        prompt="garden", aspect_ratio="1:1", width=512, height=512, seed=42, cost_tokens=10,
    )
    db.add(row)
    db.commit()
    return row


def _signed_image(verifier: TestClient, generation: Generation) -> bytes:
    info = ProvenanceInfo(
        artist_id=1, artist_name="김민아", style_id=generation.style_id, style_title="Watercolour Garden",
        generation_id=generation.id, seed=42, created_at=datetime.now(UTC), platform="Style License",
        licence="Licensed style.",
    )
    return sign_generated_image(synthetic_artwork(512, 512, seed=9), info, mark=ArtistMark("김민아"),
                                keys=verifier.app.state.provenance_keys).data


def _verify(client: TestClient, data: bytes, name: str = "image.png"):
    return client.post(f"{API_PREFIX}/verify", files={"image": (name, data, "application/octet-stream")})


def test_a_signed_image_is_proven_by_its_content_credentials(verifier, generation):
    response = _verify(verifier, _signed_image(verifier, generation))
    assert response.status_code == 200, response.text
    found = response.json()["data"]
    assert found["proof"] == "content_credentials"
    assert found["artist"]["name"] == "김민아"
    assert found["style"] == {"id": generation.style_id, "title": "Watercolour Garden"}
    assert found["generation"]["id"] == generation.id
    assert found["content_credentials"] == {
        "state": "trusted", "signer": "Style License Development Signer", "failures": []
    }
    assert found["watermark_generation_id"] == generation.id
    assert found["metadata"]["artist_name"] == "김민아"


def test_a_reencoded_copy_is_proven_by_its_watermark(verifier, generation):
    copy = io.BytesIO()
    signed = Image.open(io.BytesIO(_signed_image(verifier, generation)))
    signed.resize((256, 256), Image.Resampling.LANCZOS).save(copy, "JPEG", quality=80)
    found = _verify(verifier, copy.getvalue(), "shared.jpg").json()["data"]
    assert found["proof"] == "watermark"
    assert found["generation"]["id"] == generation.id
    assert found["content_credentials"]["state"] == "absent"
    assert found["metadata"] is None


def test_an_unknown_image_proves_nothing(verifier):
    other = io.BytesIO()
    synthetic_artwork(512, 512, seed=1).save(other, "PNG")
    found = _verify(verifier, other.getvalue()).json()["data"]
    assert found == {
        "proof": None, "artist": None, "style": None, "generation": None,
        "content_credentials": {"state": "absent", "signer": None, "failures": []},
        "watermark_generation_id": None, "metadata": None,
    }


def test_a_tampered_image_is_reported_invalid(verifier, generation):
    data = bytearray(_signed_image(verifier, generation))
    data[data.index(b"IDAT") + 300] ^= 0x01
    found = _verify(verifier, bytes(data)).json()["data"]
    assert found["content_credentials"]["state"] == "invalid"
    assert "assertion.dataHash.mismatch" in found["content_credentials"]["failures"]
    assert found["proof"] is None


@pytest.mark.parametrize(
    ("data", "code"),
    [(b"<html><script>alert(1)</script></html>", "INVALID_IMAGE_FORMAT"), (b"", "INVALID_IMAGE_FORMAT"),
     (b"\xff\xd8\xff" + bytes(10 * 1024 * 1024), "IMAGE_SIZE_EXCEEDED")],
    ids=["html", "empty", "too large"],
)
def test_what_is_not_an_image_is_a_422(verifier, data, code):
    error = assert_error(_verify(verifier, data, "photo.jpg"), 422, code)
    assert error["details"]["reason"]


def test_the_file_is_required(verifier):
    assert_error(verifier.post(f"{API_PREFIX}/verify"), 422, "VALIDATION_ERROR")


def test_openapi_declares_the_image_errors(verifier):
    operation = verifier.get("/openapi.json").json()["paths"][f"{API_PREFIX}/verify"]["post"]
    assert operation["operationId"] == "verify-verify_image"
    assert "INVALID_IMAGE_FORMAT" in operation["responses"]["422"]["description"]
