"""The cluster configs parse and validate with the tools that will read them (Ray's cluster-launcher schema,
Serve's config schema), name one image and one Ray version, and stay in step with cluster/serve.yaml."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import ray
import yaml

from core.contracts import TrainingJobRequest

CLUSTER = Path(__file__).resolve().parent.parent / "cluster"


def _load(relative: str) -> dict:
    return yaml.safe_load((CLUSTER / relative).read_text())


def _containers(cluster_spec: dict) -> list[dict]:
    groups = [cluster_spec["headGroupSpec"], *cluster_spec["workerGroupSpecs"]]
    return [container for group in groups for container in group["template"]["spec"]["containers"]]


IMAGE = _load("aws/cluster.yaml")["docker"]["image"]


def test_the_aws_cluster_passes_rays_own_validation_and_typos_do_not():
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = prepare_config(_load("aws/cluster.yaml"))
    validate_config(config)
    assert config["available_node_types"]["gpu"]["resources"]["GPU"] == 1
    assert config["available_node_types"]["head"]["resources"]["CPU"] == 0  # no replicas on the head
    config["max_wrkers"] = 3
    with pytest.raises(Exception, match="max_wrkers"):
        validate_config(config)


def test_the_rayservice_serves_exactly_cluster_serve_yaml_on_one_image():
    from ray.serve.schema import ServeDeploySchema

    service = _load("kuberay/rayservice.yaml")
    assert (service["apiVersion"], service["kind"]) == ("ray.io/v1", "RayService")
    serve_config = yaml.safe_load(service["spec"]["serveConfigV2"])
    assert serve_config == _load("serve.yaml")
    ServeDeploySchema.model_validate(serve_config)

    cluster = service["spec"]["rayClusterConfig"]
    assert cluster["rayVersion"] == ray.__version__
    containers = _containers(cluster)
    assert {c["image"] for c in containers} == {IMAGE}
    assert all(c["envFrom"] == [{"secretRef": {"name": "style-license-env"}}] for c in containers)
    [gpu] = [g for g in cluster["workerGroupSpecs"] if g["groupName"] == "gpu"]
    [worker] = gpu["template"]["spec"]["containers"]
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_the_training_rayjob_runs_the_training_entrypoint_with_a_request_of_the_current_shape():
    job = _load("kuberay/rayjob-training.yaml")
    assert (job["apiVersion"], job["kind"]) == ("ray.io/v1", "RayJob")
    assert job["spec"]["entrypoint"] == "python -m training_jobs"
    request = json.loads(yaml.safe_load(job["spec"]["runtimeEnvYAML"])["env_vars"]["SL_TRAINING_JOB"])
    assert set(request) == set(TrainingJobRequest.model_fields)
    cluster = job["spec"]["rayClusterSpec"]
    assert cluster["rayVersion"] == ray.__version__
    assert {c["image"] for c in _containers(cluster)} == {IMAGE}


def test_the_dockerfile_builds_on_the_installed_ray_with_the_locked_torch():
    dockerfile = (CLUSTER / "Dockerfile").read_text()
    assert f"FROM rayproject/ray:{ray.__version__}-py311-gpu" in dockerfile
    lock = (CLUSTER.parent / "requirements.lock").read_text()
    torch_version = re.search(r"^torch==([\d.]+)\+cpu ", lock, re.MULTILINE).group(1)
    assert f"pip install --no-cache-dir torch=={torch_version} " in dockerfile  # its CUDA build
    assert '--constraint /tmp/locked-versions.txt -e ".[ml]"' in dockerfile
