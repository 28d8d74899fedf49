"""The generation application's knobs, typed: the `args:` of cluster/serve-generation.yaml are validated
into `GenerationAppConfig` before anything is deployed.

Deployment shape (replicas, resources, styles per replica, batching) lives here. What a replica shares with
the rest of the platform (storage, signing keys, the base model) comes from its environment through
`core.settings.Settings`, as for every other process; `replica_env` can add to that environment.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

GiB = 1024**3


class GenerationAppConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Serve autoscaling: replicas are added when the ongoing requests per replica exceed the target.
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=4, ge=1)
    # About one batch drawing and one forming per replica.
    target_ongoing_requests: float = Field(default=8, gt=0)
    max_ongoing_requests: int = Field(default=16, ge=1)
    upscale_delay_s: float = Field(default=30, ge=0)
    downscale_delay_s: float = Field(default=600, ge=0)
    # A replica being scaled down finishes the images it is drawing first.
    graceful_shutdown_timeout_s: float = Field(default=120, ge=0)

    # What one replica reserves on the cluster.
    num_gpus: float = Field(default=1, ge=0)
    num_cpus: float = Field(default=1, ge=0)
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

    # Added to the replicas' environment (Settings read it): how tests and the local launcher point
    # replicas at their storage and data directory. Production sets the environment of the nodes instead.
    replica_env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> GenerationAppConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        if self.max_ongoing_requests < self.max_batch_size:
            raise ValueError("max_ongoing_requests must be at least max_batch_size, or batches never fill")
        if self.target_ongoing_requests > self.max_ongoing_requests:
            raise ValueError("target_ongoing_requests must not exceed max_ongoing_requests")
        return self

    def deployment_options(self) -> dict[str, Any]:
        """Keyword arguments of `serve.deployment(...)`."""
        actor_options: dict[str, Any] = {"num_gpus": self.num_gpus, "num_cpus": self.num_cpus}
        if self.replica_env:
            actor_options["runtime_env"] = {"env_vars": dict(self.replica_env)}
        return {
            "autoscaling_config": {
                "min_replicas": self.min_replicas,
                "max_replicas": self.max_replicas,
                "target_ongoing_requests": self.target_ongoing_requests,
                "upscale_delay_s": self.upscale_delay_s,
                "downscale_delay_s": self.downscale_delay_s,
            },
            "max_ongoing_requests": self.max_ongoing_requests,
            "graceful_shutdown_timeout_s": self.graceful_shutdown_timeout_s,
            "ray_actor_options": actor_options,
        }
