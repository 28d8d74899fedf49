"""Signing a generated image end to end (signature, watermark, metadata, C2PA, in that order), storing
only the signed result, and verification reporting what each kind of copy can still prove."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest
from PIL import Image

from core.content_credentials import CredentialState
from core.image_format import ImageFormat
from core.images import IMAGE_SIZE_EXCEEDED, INVALID_IMAGE_FORMAT, MAX_UPLOAD_BYTES, ImageRejected
from core.provenance import publish_generated_image, sign_generated_image
from core.signature import ArtistMark
from core.verification import Proof, verify_image
from tests.core.artwork import synthetic_artwork
from tests.core.image_corpus import decompression_bomb

MARK = ArtistMark("김민아 Mina Kim")


def _resave(data: bytes, image_format: str, **params) -> bytes:
    buffer = io.BytesIO()
    Image.open(io.BytesIO(data)).convert("RGB").save(buffer, image_format, **params)
    return buffer.getvalue()


@pytest.mark.parametrize("size", [(512, 512), (1024, 1024), (512, 1024)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_signed_image_proves_everything(provenance_info, provenance_keys, size):
    image = synthetic_artwork(*size, seed=11)
    signed = sign_generated_image(image, provenance_info, mark=MARK, keys=provenance_keys)
    assert signed.content_type == "image/png"

    result = verify_image(signed.data, keys=provenance_keys)
    assert result.credentials.state is CredentialState.trusted
    assert result.credentials.author == "김민아 Mina Kim"
    assert result.watermark_generation_id == provenance_info.generation_id
    assert result.metadata.artist_name == "김민아 Mina Kim"
    assert result.metadata.style_id == provenance_info.style_id
    assert (result.proof, result.generation_id) == (Proof.content_credentials, provenance_info.generation_id)

    # The signature is the only visible change; the watermark elsewhere stays within a few levels.
    change = np.abs(np.asarray(signed.pixels, dtype=int) - np.asarray(image, dtype=int)).max(axis=2)
    short = min(size)
    corner = change[-round(short * 0.1):, -round(short * 0.45):]
    assert corner.max() > 100
    assert change[: size[1] // 2, : size[0] // 2].max() <= 12


def test_jpeg_output_carries_the_same_proofs(provenance_info, provenance_keys):
    signed = sign_generated_image(synthetic_artwork(512, 512, seed=2), provenance_info, mark=MARK,
                                  keys=provenance_keys, image_format=ImageFormat.jpeg)
    result = verify_image(signed.data, keys=provenance_keys)
    assert (signed.content_type, result.format) == ("image/jpeg", ImageFormat.jpeg)
    assert result.credentials.state is CredentialState.trusted
    assert result.watermark_generation_id == provenance_info.generation_id
    assert result.metadata.artist_name == "김민아 Mina Kim"


def test_copies_keep_what_survives_them(provenance_info, provenance_keys):
    signed = sign_generated_image(synthetic_artwork(512, 512, seed=3), provenance_info, mark=MARK,
                                  keys=provenance_keys).data

    flipped = bytearray(signed)
    flipped[signed.index(b"IDAT") + 500] ^= 0x01
    tampered = verify_image(bytes(flipped), keys=provenance_keys)
    assert tampered.credentials.state is CredentialState.invalid
    assert tampered.proof is None  # the damaged PNG's pixels cannot be trusted either

    shared = verify_image(_resave(signed, "JPEG", quality=80), keys=provenance_keys)
    assert shared.credentials.state is CredentialState.absent and shared.metadata is None
    assert (shared.proof, shared.generation_id) == (Proof.watermark, provenance_info.generation_id)

    lossless_copy = verify_image(_resave(signed, "PNG"), keys=provenance_keys)
    assert lossless_copy.credentials.state is CredentialState.absent  # C2PA came last: any re-save drops it
    assert lossless_copy.watermark_generation_id == provenance_info.generation_id

    stranger = io.BytesIO()
    synthetic_artwork(600, 600, seed=4).save(stranger, "PNG")
    nothing = verify_image(stranger.getvalue(), keys=provenance_keys)
    assert nothing.credentials.state is CredentialState.absent
    assert (nothing.proof, nothing.generation_id, nothing.metadata) == (None, None, None)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", INVALID_IMAGE_FORMAT),
        (b"%PDF-1.7 not an image", INVALID_IMAGE_FORMAT),
        (b"\x89PNG\r\n\x1a\n" + bytes(MAX_UPLOAD_BYTES), IMAGE_SIZE_EXCEEDED),
        (decompression_bomb(), IMAGE_SIZE_EXCEEDED),
    ],
    ids=["empty", "pdf", "too large", "bomb"],
)
def test_verification_refuses_what_is_not_an_image(provenance_keys, data, code):
    with pytest.raises(ImageRejected) as refused:
        verify_image(data, keys=provenance_keys)
    assert refused.value.code == code


def test_a_truncated_image_is_read_without_crashing(provenance_info, provenance_keys):
    signed = sign_generated_image(synthetic_artwork(512, 512, seed=6), provenance_info, mark=MARK,
                                  keys=provenance_keys, image_format=ImageFormat.jpeg).data
    result = verify_image(signed[: len(signed) // 2], keys=provenance_keys)
    assert result.credentials.state is CredentialState.invalid


def test_only_the_signed_image_and_its_thumbnail_are_stored(store, provenance_info, provenance_keys):
    image = synthetic_artwork(512, 1024, seed=8)
    publishing = publish_generated_image(store, image, provenance_info, mark=MARK, keys=provenance_keys)
    keys = asyncio.run(publishing)

    assert asyncio.run(store.list("")) == sorted([keys.image, keys.thumbnail])
    assert keys.image.startswith(f"public/generations/{provenance_info.generation_id}/")
    stored = asyncio.run(store.get(keys.image))
    assert verify_image(stored, keys=provenance_keys).credentials.state is CredentialState.trusted
    assert asyncio.run(store.head(keys.image)).content_type == "image/png"

    preview = Image.open(io.BytesIO(asyncio.run(store.get(keys.thumbnail))))
    assert (preview.format, preview.size) == ("WEBP", (256, 256))
