"""Deploy the generation Serve application on the local Ray head (`make run`): one CPU replica, no Serve
HTTP proxy (the API calls it over its handle). The app lives on in the cluster after this process exits.
Production deploys cluster/serve-generation.yaml with `serve deploy` instead."""

from __future__ import annotations

import logging

import ray
from ray import serve

from core.contracts import GENERATION_APP_NAME
from core.settings import get_settings, shared_environment
from serve_apps.generation.app import build_app
from serve_apps.generation.config import GenerationAppConfig

log = logging.getLogger(__name__)


def main() -> None:
    settings = get_settings()
    data_dir = settings.app.data_dir.resolve()
    ray.init(address=settings.ray.address, log_to_driver=False)
    serve.start(proxy_location="Disabled")
    config = GenerationAppConfig(
        min_replicas=1, max_replicas=1, num_gpus=0, num_cpus=1,
        models_dir=data_dir / "models", adapter_cache_dir=data_dir / "adapters",
        replica_env=shared_environment(settings),
    )
    serve.run(build_app(config), name=GENERATION_APP_NAME, route_prefix=None, blocking=False)
    print("generation application deployed", flush=True)


if __name__ == "__main__":
    main()
