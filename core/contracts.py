"""Messages between the API and Ray work (training jobs, generation replicas), validated on both sides."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from core.training_recipe import TrainingRecipe


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainingImage(_Message):
    key: str  # the private training copy in object storage
    caption: str


class TrainingJobRequest(_Message):
    """Everything a training job needs; it is passed to the job, which never reads the database."""

    run_id: int
    style_id: int
    trigger_tag: str
    base_model: str
    images: list[TrainingImage] = Field(min_length=1)
    recipe: TrainingRecipe
    seed: int = 0
    output_prefix: str  # private storage prefix for the adapter, manifest and samples
    callback_url: str  # the API's base URL for progress and completion


class TrainingProgressReport(_Message):
    current_epoch: int = Field(ge=0)
    total_epochs: int = Field(ge=1)
    progress_percent: int = Field(ge=0, le=100)
    estimated_seconds: int = Field(ge=0)
    sample_keys: list[str] = Field(default_factory=list)


class TrainingCompletion(_Message):
    adapter_key: str
    manifest_key: str
    manifest: dict
    sample_keys: list[str]


class TrainingFailure(_Message):
    reason: str = Field(max_length=2000)


# The Serve application that generates images; the API looks its handle up by this name.
GENERATION_APP_NAME = "generation"
API_APP_NAME = "api"  # the API as a Serve application (serve_apps/ingress.py), served at /


class GenerationRejected(Exception):
    """A generation that can never succeed (its adapter is missing, its prompt is refused): failed at once,
    never retried. Anything else a replica raises is treated as retryable."""


class GenerationJob(_Message):
    """One image to generate, sent to the generation deployment with multiplexed_model_id = adapter_key."""

    generation_id: int
    adapter_key: str  # the style's LoRA in private storage; also the multiplexed model id
    prompt: str  # final: the style's trigger tag first, then the user's English tags
    negative_prompt: str = ""
    width: int = Field(ge=64, le=2048)
    height: int = Field(ge=64, le=2048)
    seed: int = Field(ge=0, le=2**63 - 1)
    steps: int = Field(ge=1, le=150)
    guidance_scale: float = Field(ge=0, le=30)
    # What the signature, metadata, watermark and content credentials say.
    artist_id: int
    artist_name: str
    signature_key: str | None  # the artist's signature image (private); None: the name is drawn instead
    style_id: int
    style_title: str
    created_at: datetime
    # The API request that asked for it (X-Request-ID), so the API's and the replica's logs tell one story.
    request_id: str | None = None


class GenerationProgress(_Message):
    kind: Literal["progress"] = "progress"
    current_step: int = Field(ge=0)
    total_steps: int = Field(ge=1)


class GenerationResult(_Message):
    kind: Literal["result"] = "result"
    image_key: str  # the signed image (public); the unsigned one is never stored
    thumbnail_key: str
    width: int
    height: int
    timings: dict[str, float]  # seconds per stage: adapter, diffusion, signing, upload
