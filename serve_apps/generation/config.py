"""The generation application's knobs, typed: the generation `args:` of cluster/serve.yaml are validated
into `GenerationAppConfig` before anything is deployed.

Deployment shape (replicas, resources, styles per replica, batching) lives here. What a replica shares with
the rest of the platform (storage, signing keys, the base model) comes from its environment through
`core.settings.Settings`, as for every other process; `replica_env` can add to that environment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import Field, model_validator

from serve_apps.deployment import ReplicaConfig

GiB = 1024**3


class GenerationAppConfig(ReplicaConfig):
    # About one batch drawing and one forming per replica.
    target_ongoing_requests: float = Field(default=8, gt=0)
    max_ongoing_requests: int = Field(default=16, ge=1)
    # A GPU per replica.
    num_gpus: float = Field(default=1, ge=0)
    # Threads torch may use on a CPU replica (unset: torch decides).
    torch_threads: int | None = Field(default=None, ge=1)

    # Styles whose adapters a replica keeps loaded; Serve routes a style's requests to a replica holding it.
    max_styles_per_replica: int = Field(default=16, ge=1)
    adapter_cache_dir: Path = Path(tempfile.gettempdir()) / "style-license-adapters"
    adapter_cache_max_bytes: int = Field(default=10 * GiB, ge=1)
    adapter_download_attempts: int = Field(default=3, ge=1)
    adapter_retry_backoff_seconds: float = Field(default=0.5, ge=0)
    # Where `SL_BASE_MODEL=tiny` is built on the node (as for training jobs).
    models_dir: Path = Path(tempfile.gettempdir()) / "style-license-models"

    # Requests arriving together, for any mix of styles, are drawn in one pipeline call of up to this many.
    max_batch_size: int = Field(default=8, ge=1)
    # How long an idle replica waits for company before drawing a request alone.
    batch_wait_seconds: float = Field(default=0.02, ge=0)
    # Progress goes back at most this often (and always for the last step).
    progress_interval_seconds: float = Field(default=0.25, ge=0)
    max_image_pixels: int = Field(default=1024 * 1024, ge=256 * 256)

    @model_validator(mode="after")
    def _batches_fit(self) -> GenerationAppConfig:
        if self.max_ongoing_requests < self.max_batch_size:
            raise ValueError("max_ongoing_requests must be at least max_batch_size, or batches never fill")
        return self
