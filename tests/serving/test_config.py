"""cluster/serve-generation.yaml is a valid Serve config whose args build the application as documented."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from core.contracts import GENERATION_APP_NAME
from serve_apps.generation.app import DEPLOYMENT_NAME, build_app
from serve_apps.generation.config import GenerationAppConfig

CONFIG = Path(__file__).resolve().parents[2] / "cluster" / "serve-generation.yaml"


def test_the_serve_config_builds_the_generation_app():
    from ray.serve.schema import ServeDeploySchema

    schema = ServeDeploySchema.model_validate(yaml.safe_load(CONFIG.read_text()))
    [application] = schema.applications
    assert application.name == GENERATION_APP_NAME and application.route_prefix is None
    assert application.import_path == "serve_apps.generation.app:build_app"

    deployment = build_app(application.args)._bound_deployment
    assert deployment.name == DEPLOYMENT_NAME
    assert deployment.ray_actor_options["num_gpus"] == 1
    autoscaling = deployment._deployment_config.autoscaling_config
    assert (autoscaling.min_replicas, autoscaling.max_replicas) == (1, 8)
    assert autoscaling.target_ongoing_requests == 8
    assert deployment.max_ongoing_requests == 16


@pytest.mark.parametrize("args", [
    {"max_replicas": 2, "min_replicas": 3},
    {"max_batch_size": 32, "max_ongoing_requests": 16},
    {"max_styles_per_replica": 0},
    {"num_gpu": 1},  # a typo is refused, not ignored
])
def test_inconsistent_args_are_refused(args):
    with pytest.raises(ValidationError):
        GenerationAppConfig.model_validate(args)
