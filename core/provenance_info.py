"""The facts a generated image carries about itself, in its metadata, its content credentials and (the
generation id alone) its watermark."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# IPTC's term for media made by a model trained on sampled content, used by XMP and C2PA alike.
TRAINED_ALGORITHMIC_MEDIA = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"


@dataclass(frozen=True)
class ProvenanceInfo:
    artist_id: int
    artist_name: str
    style_id: int
    style_title: str
    generation_id: int
    seed: int
    created_at: datetime  # timezone-aware
    platform: str  # ProvenanceSettings.platform_name
    licence: str  # ProvenanceSettings.licence_text

    def __post_init__(self) -> None:
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")

    @property
    def description(self) -> str:
        return f"Generated with the style “{self.style_title}” by {self.artist_name} on {self.platform}."
