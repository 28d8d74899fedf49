"""Verification: the core check off the event loop, then the generation it proves, from the database."""

from __future__ import annotations

import asyncio

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.provenance_keys import ProvenanceKeys
from core.verification import verify_image
from db.models import Artist, Generation, Style
from platform_api.verify.schemas import (
    ArtistRef,
    ContentCredentials,
    GenerationRef,
    MetadataClaims,
    StyleRef,
    Verification,
)


async def verify(db: AsyncSession, data: bytes, keys: ProvenanceKeys) -> Verification:
    """Raises core.images.ImageRejected for what is not a JPEG or PNG within the upload limits."""
    result = await asyncio.to_thread(verify_image, data, keys=keys)
    row = None
    if result.generation_id is not None:
        row = (await db.execute(
            select(Generation, Style, Artist)
            .join(Style, Style.id == Generation.style_id)
            .join(Artist, Artist.id == Style.artist_id)
            .where(Generation.id == result.generation_id)
        )).one_or_none()
    generation, style, artist = row or (None, None, None)
    return Verification(
        proof=result.proof if generation else None,
        artist=ArtistRef(id=artist.id, name=artist.artist_name) if artist else None,
        style=StyleRef(id=style.id, title=style.title) if style else None,
        generation=GenerationRef(id=generation.id, created_at=generation.created_at) if generation else None,
        content_credentials=ContentCredentials(
            state=result.credentials.state,
            signer=result.credentials.signer,
            failures=list(result.credentials.failures),
        ),
        watermark_generation_id=result.watermark_generation_id,
        metadata=MetadataClaims(
            artist_name=result.metadata.artist_name,
            style_title=result.metadata.style_title,
            generation_id=result.metadata.generation_id,
            platform=result.metadata.platform,
            created_at=result.metadata.created_at,
        ) if result.metadata else None,
    )

