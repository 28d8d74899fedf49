"""What `POST /api/v1/verify` answers: who made the image, when it is provable, and what it claims."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from core.content_credentials import CredentialState
from core.verification import Proof


class ArtistRef(BaseModel):
    id: int
    name: str


class StyleRef(BaseModel):
    id: int
    title: str


class GenerationRef(BaseModel):
    id: int
    created_at: datetime


class ContentCredentials(BaseModel):
    state: CredentialState = Field(
        description="absent; invalid (the bytes or the manifest were changed); valid (intact, signer not "
        "trusted here); trusted (signed by this platform)"
    )
    signer: str | None
    failures: list[str] = Field(description="C2PA validation codes, e.g. assertion.dataHash.mismatch")


class MetadataClaims(BaseModel):
    """What the image's metadata says. Anyone can write metadata: these are claims, not proof."""

    artist_name: str | None
    style_title: str | None
    generation_id: int | None
    platform: str | None
    created_at: str | None


class Verification(BaseModel):
    proof: Proof | None = Field(
        description="what ties the image to a generation on this platform; null when nothing does"
    )
    artist: ArtistRef | None
    style: StyleRef | None
    generation: GenerationRef | None
    content_credentials: ContentCredentials
    watermark_generation_id: int | None
    metadata: MetadataClaims | None
