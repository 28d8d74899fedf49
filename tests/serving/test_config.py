"""cluster/serve.yaml is a valid Serve config whose args build both applications as documented, and the
local launcher's variant of it stays valid."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from cluster.deploy import local_serve_config
from core.contracts import API_APP_NAME, GENERATION_APP_NAME
from core.settings import AppSettings, Settings, StorageSettings
from serve_apps.generation.app import DEPLOYMENT_NAME, build_app
from serve_apps.generation.config import GenerationAppConfig
from serve_apps.ingress import DEPLOYMENT_NAME as API_DEPLOYMENT
from serve_apps.ingress import build_app as build_api

CONFIG = Path(__file__).resolve().parents[2] / "cluster" / "serve.yaml"


def _applications(config: dict) -> dict:
    from ray.serve.schema import ServeDeploySchema

    return {application.name: application for application in ServeDeploySchema.model_validate(config).applications}


def test_the_serve_config_builds_both_applications():
    applications = _applications(yaml.safe_load(CONFIG.read_text()))
    assert set(applications) == {API_APP_NAME, GENERATION_APP_NAME}

    api = applications[API_APP_NAME]
    assert api.route_prefix == "/" and api.import_path == "serve_apps.ingress:build_app"
    deployment = build_api(api.args)._bound_deployment
    assert deployment.name == API_DEPLOYMENT and deployment.ray_actor_options["num_gpus"] == 0
    assert deployment._deployment_config.logging_config["encoding"] == "JSON"  # JSON lines, like the API's
    assert deployment._deployment_config.autoscaling_config.min_replicas == 2

    generation = applications[GENERATION_APP_NAME]
    assert generation.route_prefix is None
    assert generation.import_path == "serve_apps.generation.app:build_app"
    deployment = build_app(generation.args)._bound_deployment
    assert deployment.name == DEPLOYMENT_NAME
    assert deployment.ray_actor_options["num_gpus"] == 1
    autoscaling = deployment._deployment_config.autoscaling_config
    assert (autoscaling.min_replicas, autoscaling.max_replicas) == (1, 8)
    assert autoscaling.target_ongoing_requests == 8
    assert deployment.max_ongoing_requests == 16


def test_the_local_launcher_shapes_the_same_config_for_one_machine(tmp_path):
    settings = Settings(app=AppSettings(data_dir=tmp_path, port=18080), storage=StorageSettings(local_dir=tmp_path / "o"))
    config = local_serve_config(settings)
    assert config["http_options"]["port"] == 18080 and config["proxy_location"] == "HeadOnly"
    applications = _applications(config)
    generation = build_app(applications[GENERATION_APP_NAME].args)._bound_deployment
    assert generation.ray_actor_options["num_gpus"] == 0
    api = build_api(applications[API_APP_NAME].args)._bound_deployment
    # Replicas run in Ray's own folders: every path they get is absolute.
    env = api.ray_actor_options["runtime_env"]["env_vars"]
    assert env["SL_STORAGE_LOCAL_DIR"] == str((tmp_path / "o").resolve())


@pytest.mark.parametrize("args", [
    {"max_replicas": 2, "min_replicas": 3},
    {"max_batch_size": 32, "max_ongoing_requests": 16},
    {"max_styles_per_replica": 0},
    {"num_gpu": 1},  # a typo is refused, not ignored
])
def test_inconsistent_args_are_refused(args):
    with pytest.raises(ValidationError):
        GenerationAppConfig.model_validate(args)
