"""The API as a Ray Serve application: `build_app(args)` is what cluster/serve.yaml imports.

Each replica runs the whole FastAPI app (`platform_api.app.create_app`) behind Serve's HTTP proxy, lifespan
included (database pool, rate limiter, reconcilers). It reaches the generation application over a
DeploymentHandle and submits training as Ray Jobs, exactly as under uvicorn; the reconcilers take their rows
with `SELECT ... FOR UPDATE SKIP LOCKED`, so every replica runs them safely. For development the same app
runs without Ray: `uvicorn platform_api.app:create_app --factory`.
"""

from __future__ import annotations

from pydantic import Field
from ray import serve
from ray.serve import Application

from serve_apps.deployment import ReplicaConfig

DEPLOYMENT_NAME = "Api"


class IngressAppConfig(ReplicaConfig):
    # Requests are short and mostly wait on PostgreSQL: many per replica, scaled on a short delay.
    target_ongoing_requests: float = Field(default=64, gt=0)
    max_ongoing_requests: int = Field(default=256, ge=1)
    upscale_delay_s: float = Field(default=10, ge=0)
    downscale_delay_s: float = Field(default=300, ge=0)
    graceful_shutdown_timeout_s: float = Field(default=30, ge=0)


def _api():
    # Built in each replica, whose environment holds the platform's settings.
    from platform_api.app import create_app

    return create_app()


@serve.ingress(_api)
class Api:
    """Serve deploys classes; the FastAPI app does all the work."""


def build_app(args: dict) -> Application:
    config = IngressAppConfig.model_validate(args)
    return serve.deployment(Api, name=DEPLOYMENT_NAME, **config.deployment_options()).bind()
