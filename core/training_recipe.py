"""How a style is trained: one object, in the platform's settings (`SL_DIFFUSION_TRAINING__*`), sent with every
training job. Operators tune it; the artist never needs to. docs/training.md (Recipe) gives every number's reason
and source.

The length of a run follows the number of images: each image is seen `views_per_image` times (flipped or not),
bounded below so ten images still train long enough to carry a style and above so a hundred images finish in
bounded time. The views are spread over `epochs` epochs, each ending with a checkpoint, samples and a score.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Family = Literal["sd1", "sdxl"]


class FamilyRecipe(BaseModel):
    """What differs by base model family."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rank: int = Field(default=16, ge=1, le=256)
    alpha: int = Field(default=16, ge=1, le=512)
    learning_rate: float = Field(default=1e-4, gt=0, le=1e-2)
    batch_size: int = Field(default=2, ge=1, le=64)


class TrainingRecipe(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    views_per_image: int = Field(default=100, ge=1)
    min_views: int = Field(default=1000, ge=0)
    max_views: int = Field(default=6000, ge=1)
    epochs: int = Field(default=10, ge=1, le=200)
    sd1: FamilyRecipe = FamilyRecipe()
    sdxl: FamilyRecipe = FamilyRecipe()
    resolution: int | None = Field(default=None, ge=64, le=1024)  # unset: the base model's native side
    min_snr_gamma: float | None = Field(default=5.0, gt=0)
    random_flip: bool = True
    sample_steps: int = Field(default=20, ge=1, le=100)
    # How many epochs' adapters stay for the artist to choose from: the best-scoring ones.
    kept_epochs: int = Field(default=5, ge=1, le=200)
    # A run whose adapter scores no better than the base model on the held-out images fails instead of publishing.
    require_better_than_base: bool = True

    def for_family(self, family: Family) -> FamilyRecipe:
        return getattr(self, family)

    @staticmethod
    def heldout_images(images: int) -> int:
        """Images kept out of training to score each epoch on: one in ten, at least one (none of one image)."""
        return max(1, images // 10) if images > 1 else 0

    def total_steps(self, images: int, family: Family) -> int:
        """The optimiser steps of a run on `images` images of one shape (held-out ones excluded); images of
        several shapes batch per aspect-ratio bucket, a step more per extra bucket and epoch at most."""
        trained = images - self.heldout_images(images)
        return self.epochs * math.ceil(trained * self.repeats_per_epoch(trained) / self.for_family(family).batch_size)

    def repeats_per_epoch(self, training_images: int) -> int:
        """How many times each training image comes round in one epoch: views_per_image spread over the epochs,
        raised to reach min_views, never past max_views (but at least once)."""
        per_pass = self.epochs * training_images
        wanted = round(max(training_images * self.views_per_image, self.min_views) / per_pass)
        return max(1, min(wanted, self.max_views // per_pass))

    @model_validator(mode="after")
    def _consistent(self) -> TrainingRecipe:
        if self.min_views > self.max_views:
            raise ValueError("min_views must not exceed max_views")
        if self.resolution is not None and self.resolution % 64:
            raise ValueError("resolution must be a multiple of 64 (the UNets' latent grid)")
        return self
