"""C2PA content credentials (c2pa-python): a signed manifest bound to the exact bytes of a generated image.

The manifest says the image was created by a trained model (IPTC trainedAlgorithmicMedia), names the
artist as the CreativeWork's author and carries the style and generation ids. It is embedded last: any
later re-encoding drops it, and any changed byte breaks its hash, which the reader reports as invalid.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import c2pa

from core.image_format import ImageFormat
from core.provenance_info import TRAINED_ALGORITHMIC_MEDIA, ProvenanceInfo
from core.provenance_keys import ProvenanceKeys

GENERATION_ASSERTION = "style-license.generation"
CREATIVE_WORK_ASSERTION = "stds.schema-org.CreativeWork"
# The image is the asset: a claim thumbnail would only add a second copy of it (and ~100 ms per image).
_SIGNING_SETTINGS = {"builder": {"thumbnail": {"enabled": False}}}
# Reading untrusted uploads must never make the server fetch anything a file points at.
_READING_SETTINGS = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}}


class CredentialState(StrEnum):
    absent = "absent"  # no manifest
    invalid = "invalid"  # a manifest the bytes no longer match, or a broken one
    valid = "valid"  # intact, but signed by a certificate this platform does not trust
    trusted = "trusted"  # intact and signed under one of the platform's trust anchors


@dataclass(frozen=True)
class CredentialReport:
    state: CredentialState
    signer: str | None = None
    author: str | None = None
    artist_id: int | None = None
    style_id: int | None = None
    generation_id: int | None = None
    failures: tuple[str, ...] = ()  # C2PA validation status codes, e.g. assertion.dataHash.mismatch


def manifest_definition(info: ProvenanceInfo, image_format: ImageFormat) -> dict[str, Any]:
    created = info.created_at.isoformat()
    return {
        "claim_generator_info": [{"name": info.platform}],
        "title": f"generation-{info.generation_id}.{image_format.extension}",
        "format": image_format.content_type,
        "assertions": [
            {"label": "c2pa.actions.v2", "data": {"actions": [{
                "action": "c2pa.created",
                "digitalSourceType": TRAINED_ALGORITHMIC_MEDIA,
                "softwareAgent": {"name": info.platform},
                "when": created,
            }]}},
            {"label": CREATIVE_WORK_ASSERTION, "data": {
                "@context": "https://schema.org",
                "@type": "CreativeWork",
                "author": [{"@type": "Person", "name": info.artist_name, "identifier": str(info.artist_id)}],
                "dateCreated": created,
                "license": info.licence,
            }},
            {"label": GENERATION_ASSERTION, "data": {
                "artist_id": info.artist_id,
                "style_id": info.style_id,
                "style_title": info.style_title,
                "generation_id": info.generation_id,
                "seed": info.seed,
            }},
        ],
    }


def sign_content_credentials(data: bytes, image_format: ImageFormat, info: ProvenanceInfo,
                             keys: ProvenanceKeys) -> bytes:
    """`data` with a signed manifest embedded."""
    signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(
        c2pa.C2paSigningAlg.ES256, keys.certificate_chain_pem, keys.private_key_pem, keys.timestamp_url
    ))
    signed = io.BytesIO()
    with signer, c2pa.Builder(manifest_definition(info, image_format),
                              context=c2pa.Context.from_dict(_SIGNING_SETTINGS)) as builder:
        builder.sign(signer, image_format.content_type, io.BytesIO(data), signed)
    return signed.getvalue()


def read_content_credentials(data: bytes, image_format: ImageFormat,
                             keys: ProvenanceKeys) -> CredentialReport:
    context = c2pa.Context.from_dict(
        _READING_SETTINGS | {"trust": {"trust_anchors": keys.trust_anchors_pem.decode()}}
    )
    try:
        reader = c2pa.Reader.try_create(image_format.content_type, io.BytesIO(data), None, context)
        if reader is None:
            return CredentialReport(CredentialState.absent)
        with reader:
            state = reader.get_validation_state()
            manifest = reader.get_active_manifest() or {}
            results = reader.get_validation_results() or {}
    except c2pa.C2paError as error:  # a manifest so damaged it cannot be read
        return CredentialReport(CredentialState.invalid, failures=(str(error),))
    failures = tuple(item["code"] for item in results.get("activeManifest", {}).get("failure", []))
    return CredentialReport(
        state=_STATES.get(state, CredentialState.invalid),
        signer=(manifest.get("signature_info") or {}).get("common_name"),
        author=_author(manifest),
        failures=failures,
        **_generation_ids(manifest),
    )


_STATES = {"Trusted": CredentialState.trusted, "Valid": CredentialState.valid}


def _assertion(manifest: dict, label: str) -> dict:
    for assertion in manifest.get("assertions", []):
        if assertion.get("label") == label and isinstance(assertion.get("data"), dict):
            return assertion["data"]
    return {}


def _author(manifest: dict) -> str | None:
    authors = _assertion(manifest, CREATIVE_WORK_ASSERTION).get("author") or [{}]
    name = authors[0].get("name") if isinstance(authors[0], dict) else None
    return name if isinstance(name, str) else None


def _generation_ids(manifest: dict) -> dict[str, int | None]:
    data = _assertion(manifest, GENERATION_ASSERTION)
    return {
        field: data.get(field) if isinstance(data.get(field), int) else None
        for field in ("artist_id", "style_id", "generation_id")
    }

