"""Deploy cluster/serve.yaml onto the local Ray head (`make run`), as `serve deploy` would, shaped for one
machine: the API's HTTP proxy on SL_HOST:SL_PORT, one replica of each application, generation on the CPU,
and the replicas' environment taken from the launcher's (database, storage, Ray settings)."""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from core.contracts import API_APP_NAME, GENERATION_APP_NAME
from core.settings import Settings, settings_environment, shared_environment

SERVE_CONFIG = Path(__file__).resolve().parent / "serve.yaml"


def local_serve_config(settings: Settings) -> dict:
    config = yaml.safe_load(SERVE_CONFIG.read_text())
    config["proxy_location"] = "HeadOnly"
    config["http_options"] |= {"host": settings.app.host, "port": settings.app.port}
    # The launcher's variables, with its data and storage folders made absolute (replicas run elsewhere).
    environment = settings_environment(os.environ) | shared_environment(settings)
    data_dir = settings.app.data_dir.resolve()
    local_args = {
        API_APP_NAME: {"min_replicas": 1, "max_replicas": 1, "num_cpus": 0, "replica_env": environment},
        GENERATION_APP_NAME: {
            "min_replicas": 1, "max_replicas": 1, "num_gpus": 0, "num_cpus": 1, "replica_env": environment,
            "models_dir": str(data_dir / "models"), "adapter_cache_dir": str(data_dir / "adapters"),
        },
    }
    for application in config["applications"]:
        application["args"] |= local_args[application["name"]]
    return config


def deploy(config: dict, dashboard_url: str) -> None:
    """What `serve deploy` does: the config, validated, to the dashboard's Serve REST API; Serve brings the
    applications up in the background."""
    from ray.dashboard.modules.serve.sdk import ServeSubmissionClient
    from ray.serve.schema import ServeDeploySchema

    schema = ServeDeploySchema.model_validate(config)
    ServeSubmissionClient(dashboard_url).deploy_applications(schema.model_dump(exclude_unset=True))
