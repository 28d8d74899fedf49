"""C2PA content credentials, checked with c2pa's own Reader: the manifest says what the issue asks, the
platform's certificate verifies as trusted, and one flipped byte makes the image invalid."""

from __future__ import annotations

import io
import json
from dataclasses import replace

import c2pa
import pytest
from PIL import Image

from core.content_credentials import (
    GENERATION_ASSERTION,
    CredentialState,
    read_content_credentials,
    sign_content_credentials,
)
from core.image_format import ImageFormat
from core.image_metadata import encode_with_metadata
from core.provenance_info import TRAINED_ALGORITHMIC_MEDIA
from core.provenance_keys import CA_FILE, CHAIN_FILE, ensure_development_certificates
from tests.core.artwork import synthetic_artwork

FORMATS = [ImageFormat.png, ImageFormat.jpeg]


@pytest.fixture(scope="module")
def pixels() -> Image.Image:
    return synthetic_artwork(512, 512, seed=5)


def _signed(pixels, info, keys, image_format) -> bytes:
    encoded = encode_with_metadata(pixels, info, image_format)
    return sign_content_credentials(encoded, image_format, info, keys)


def _read_with_c2pa(data: bytes, image_format: ImageFormat, anchors: bytes) -> tuple[str, dict]:
    context = c2pa.Context.from_dict({"trust": {"trust_anchors": anchors.decode()}})
    with c2pa.Reader(image_format.content_type, io.BytesIO(data), None, context) as reader:
        return reader.get_validation_state(), json.loads(reader.json())


def _flip_one_pixel_byte(data: bytes, image_format: ImageFormat) -> bytes:
    if image_format is ImageFormat.png:
        start = data.index(b"IDAT")
    else:
        # The last start-of-scan marker: the manifest before it holds random bytes (signature, instance ids)
        # that can contain FF DA by chance, while scan data never can (every FF in it is stuffed with 00).
        start = data.rindex(b"\xff\xda")
    flipped = bytearray(data)
    flipped[start + 200] ^= 0x01
    return bytes(flipped)


@pytest.mark.parametrize("image_format", FORMATS)
def test_the_manifest_is_signed_and_trusted(pixels, provenance_info, provenance_keys, image_format):
    data = _signed(pixels, provenance_info, provenance_keys, image_format)
    state, store = _read_with_c2pa(data, image_format, provenance_keys.trust_anchors_pem)
    assert state == "Trusted"
    manifest = store["manifests"][store["active_manifest"]]
    assertions = {assertion["label"]: assertion["data"] for assertion in manifest["assertions"]}

    created = assertions["c2pa.actions.v2"]["actions"][0]
    assert created["action"] == "c2pa.created"
    assert created["digitalSourceType"] == TRAINED_ALGORITHMIC_MEDIA
    assert assertions["stds.schema-org.CreativeWork"]["author"][0]["name"] == "김민아 Mina Kim"
    assert assertions[GENERATION_ASSERTION]["style_id"] == provenance_info.style_id
    assert assertions[GENERATION_ASSERTION]["generation_id"] == provenance_info.generation_id
    assert manifest["signature_info"]["common_name"] == "Style License Development Signer"
    assert "thumbnail" not in manifest


@pytest.mark.parametrize("image_format", FORMATS)
def test_a_flipped_byte_is_invalid(pixels, provenance_info, provenance_keys, image_format):
    data = _flip_one_pixel_byte(_signed(pixels, provenance_info, provenance_keys, image_format), image_format)
    state, store = _read_with_c2pa(data, image_format, provenance_keys.trust_anchors_pem)
    assert state == "Invalid"
    assert "assertion.dataHash.mismatch" in [item["code"] for item in store["validation_status"]]

    report = read_content_credentials(data, image_format, provenance_keys)
    assert report.state is CredentialState.invalid
    assert "assertion.dataHash.mismatch" in report.failures


@pytest.mark.parametrize("image_format", FORMATS)
def test_the_report_names_the_artist_and_ids(pixels, provenance_info, provenance_keys, image_format):
    report = read_content_credentials(
        _signed(pixels, provenance_info, provenance_keys, image_format), image_format, provenance_keys
    )
    assert report.state is CredentialState.trusted and report.failures == ()
    assert (report.author, report.artist_id, report.style_id, report.generation_id) == (
        "김민아 Mina Kim", 7, 31, 9_000_000_001
    )


def test_any_resave_drops_the_credentials(pixels, provenance_info, provenance_keys):
    data = _signed(pixels, provenance_info, provenance_keys, ImageFormat.png)
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).save(buffer, "PNG")
    report = read_content_credentials(buffer.getvalue(), ImageFormat.png, provenance_keys)
    assert report.state is CredentialState.absent


def test_a_signer_outside_the_trust_anchors_is_valid_but_not_trusted(pixels, provenance_info, provenance_keys,
                                                                     tmp_path):
    other_ca = (ensure_development_certificates(tmp_path) / CA_FILE).read_bytes()
    data = _signed(pixels, provenance_info, provenance_keys, ImageFormat.png)
    strangers = replace(provenance_keys, trust_anchors_pem=other_ca)
    report = read_content_credentials(data, ImageFormat.png, strangers)
    assert report.state is CredentialState.valid
    assert report.failures == ("signingCredential.untrusted",)


def test_development_certificates_are_made_once(tmp_path):
    first = (ensure_development_certificates(tmp_path) / CHAIN_FILE).read_bytes()
    assert (ensure_development_certificates(tmp_path) / CHAIN_FILE).read_bytes() == first
    assert oct((tmp_path / "signer-key.pem").stat().st_mode & 0o777) == "0o600"
