"""Messages between the API and Ray work (training jobs), validated on both sides with pydantic."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TrainingImage(_Message):
    key: str  # the private training copy in object storage
    caption: str


class TrainingHyperparameters(_Message):
    rank: int = Field(ge=1, le=256)
    alpha: int = Field(ge=1, le=512)
    learning_rate: float = Field(gt=0, le=1e-2)
    epochs: int = Field(ge=1, le=200)
    batch_size: int = Field(ge=1, le=64)
    resolution: int = Field(ge=64, le=1024)
    seed: int = 0
    sample_steps: int = Field(ge=1, le=100)


class TrainingJobRequest(_Message):
    """Everything a training job needs; it is passed to the job, which never reads the database."""

    run_id: int
    style_id: int
    trigger_tag: str
    base_model: str
    images: list[TrainingImage] = Field(min_length=1)
    hyperparameters: TrainingHyperparameters
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
