"""`serve deploy` of cluster/serve.yaml onto the local Ray head (`make run`), shaped for one machine: the
API's HTTP proxy on SL_HOST:SL_PORT, one replica of each application, generation on a GPU where the machine
has one (else the CPU), and the replicas' environment taken from the launcher's (database, storage, Ray
settings)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from cluster.ray_head import BACKGROUND_NICENESS, WORKER_NICENESS
from core.contracts import API_APP_NAME, GENERATION_APP_NAME
from core.settings import Settings, settings_environment, shared_environment

SERVE_CONFIG = Path(__file__).resolve().parent / "serve.yaml"


def local_serve_config(settings: Settings, *, gpus: int = 0) -> dict:
    """One replica of each application; the generation replica on one GPU when the machine has `gpus`."""
    config = yaml.safe_load(SERVE_CONFIG.read_text())
    config["proxy_location"] = "HeadOnly"
    config["http_options"] |= {"host": settings.app.host, "port": settings.app.port}
    # The launcher's variables, with its data and storage folders made absolute (replicas run elsewhere).
    environment = settings_environment(os.environ) | shared_environment(settings)
    data_dir = settings.app.data_dir.resolve()
    local_args = {
        API_APP_NAME: {"min_replicas": 1, "max_replicas": 1, "num_cpus": 0, "replica_env": environment},
        GENERATION_APP_NAME: {
            # Without a GPU, drawn on this machine's CPUs after the API's requests (docs/benchmarks.md, Load).
            "min_replicas": 1, "max_replicas": 1, "num_gpus": 1 if gpus else 0, "num_cpus": 1,
            "replica_env": environment | {WORKER_NICENESS: str(BACKGROUND_NICENESS)},
            "models_dir": str(data_dir / "models"), "adapter_cache_dir": str(data_dir / "adapters"),
        },
    }
    for application in config["applications"]:
        application["args"] |= local_args[application["name"]]
    return config


def serve_deploy(config: dict, path: Path, dashboard_url: str) -> None:
    """`serve deploy` of `config`, written to `path` first (operators can read what runs); Serve brings the
    applications up in the background."""
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    serve = Path(sys.executable).with_name("serve")
    result = subprocess.run([str(serve), "deploy", str(path), "--address", dashboard_url],
                            capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"serve deploy exited with {result.returncode}:\n{result.stderr}{result.stdout}")
