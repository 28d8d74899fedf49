"""What every Serve application of the platform configures the same way: how its replicas scale, what each
reserves on the cluster and what is added to its environment. Each application's typed config extends it, so
the `args:` of cluster/serve.yaml are validated (a typo fails the deploy instead of being ignored)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ReplicaConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Serve autoscaling: replicas are added when the ongoing requests per replica exceed the target.
    min_replicas: int = Field(default=1, ge=0)
    max_replicas: int = Field(default=4, ge=1)
    target_ongoing_requests: float = Field(default=8, gt=0)
    max_ongoing_requests: int = Field(default=16, ge=1)
    upscale_delay_s: float = Field(default=30, ge=0)
    downscale_delay_s: float = Field(default=600, ge=0)
    # A replica being scaled down finishes the requests it holds first.
    graceful_shutdown_timeout_s: float = Field(default=120, ge=0)

    # What one replica reserves on the cluster.
    num_gpus: float = Field(default=0, ge=0)
    num_cpus: float = Field(default=1, ge=0)
    # Custom Ray resources a replica needs: keeps replicas on the nodes that advertise them (a node group).
    resources: dict[str, float] = Field(default_factory=dict)

    # Added to the replicas' environment (core.settings.Settings reads it): how tests and the local launcher
    # point replicas at their database, storage and data directory. Production sets the nodes' environment.
    replica_env: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _scaling_consistent(self) -> ReplicaConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError("min_replicas must not exceed max_replicas")
        if self.target_ongoing_requests > self.max_ongoing_requests:
            raise ValueError("target_ongoing_requests must not exceed max_ongoing_requests")
        return self

    def deployment_options(self) -> dict[str, Any]:
        """Keyword arguments of `serve.deployment(...)`."""
        actor_options: dict[str, Any] = {"num_gpus": self.num_gpus, "num_cpus": self.num_cpus}
        if self.resources:
            actor_options["resources"] = dict(self.resources)
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
            # JSON lines, like the API's own logs, so one log pipeline reads both.
            "logging_config": {"encoding": "JSON"},
        }
