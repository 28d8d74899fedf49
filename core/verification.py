"""What an image can prove about where it came from (the verify page and `POST /api/v1/verify`).

Three sources, of different strength: C2PA content credentials (cryptographic, but lost on any re-save),
the invisible watermark (survives re-encoding and resizing, carries only the generation id) and metadata
(anyone can write it: reported as claims, never as proof).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.content_credentials import CredentialReport, CredentialState, read_content_credentials
from core.image_format import ImageFormat, sniff_format
from core.image_metadata import ImageMetadata, read_metadata
from core.images import INVALID_IMAGE_FORMAT, ImageRejected, decode_image, normalise
from core.provenance_keys import ProvenanceKeys
from core.watermark import read_generation_id


class Proof(StrEnum):
    content_credentials = "content_credentials"
    watermark = "watermark"


@dataclass(frozen=True)
class VerificationResult:
    format: ImageFormat
    credentials: CredentialReport
    watermark_generation_id: int | None
    metadata: ImageMetadata | None

    @property
    def proof(self) -> Proof | None:
        """What ties the image to a generation: a trusted manifest, else the watermark."""
        if self.credentials.state is CredentialState.trusted and self.credentials.generation_id is not None:
            return Proof.content_credentials
        if self.watermark_generation_id is not None:
            return Proof.watermark
        return None

    @property
    def generation_id(self) -> int | None:
        """The generation the image provably comes from."""
        if self.proof is Proof.content_credentials:
            return self.credentials.generation_id
        return self.watermark_generation_id


def verify_image(data: bytes, *, keys: ProvenanceKeys) -> VerificationResult:
    """Raises ImageRejected for what is not a JPEG or PNG within the upload limits. A damaged one is still
    read: its credentials then say what was broken, and its pixels prove nothing."""
    try:
        image_format, image = decode_image(data, strict=False)
    except ImageRejected as rejected:
        image_format = sniff_format(data)
        if rejected.code != INVALID_IMAGE_FORMAT or image_format is None:
            raise
        credentials = read_content_credentials(data, image_format, keys)
        return VerificationResult(image_format, credentials, watermark_generation_id=None, metadata=None)
    pixels = normalise(image, keep_alpha=False)
    return VerificationResult(
        format=image_format,
        credentials=read_content_credentials(data, image_format, keys),
        watermark_generation_id=read_generation_id(pixels, key=keys.watermark_key),
        metadata=read_metadata(image),
    )
