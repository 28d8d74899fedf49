"""A Ray cluster of three nodes on this machine, started as on real machines (`ray start --head`, then
`ray start --address`, each with its own ports and temp dir): a CPU head holding the API's Serve application
(its `api_node` resource) and two workers with one CPU and one (fake) GPU each, a generation replica on each
GPU. Both applications are deployed with `serve deploy` of cluster/serve.yaml shaped for the test.

The nodes run in their own processes (the test process may already be a driver of the session's cluster), and
everything is reached the way production reaches it: HTTP through Serve's proxy, the dashboard's REST API
with Ray's token."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil
import yaml

from cluster.deploy import SERVE_CONFIG
from cluster.ports import free_ports
from core.contracts import API_APP_NAME, GENERATION_APP_NAME
from core.settings import StorageSettings
from core.storage import create_object_store
from db.models import Style
from tests.factories import make_style
from tests.helpers import recipe_environment, tiny_training_recipe, until
from tests.serving.styles import adapter_key

RAY = str(Path(sys.executable).with_name("ray"))
SERVE = str(Path(sys.executable).with_name("serve"))


@dataclass
class Node:
    name: str
    process: subprocess.Popen
    log: Path
    killed: bool = False

    def kill(self) -> None:
        """Like a machine lost: every process of the node at once, no shutdown. Its whole process tree, not
        its process group: Ray starts a job's entrypoint in a session of its own."""
        self.killed = True
        root = psutil.Process(self.process.pid)
        for process in [*root.children(recursive=True), root]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        self.process.wait(timeout=30)

    def check(self) -> None:
        if not self.killed and self.process.poll() is not None:
            raise AssertionError(f"node {self.name} exited:\n" + self.log.read_text()[-3000:])


@dataclass
class Cluster:
    env: dict[str, str]
    dashboard: str
    proxy: str
    folder: Path
    # Ray's socket paths must stay under 108 bytes: its temp dirs live in a short folder of their own.
    ray_dir: Path
    nodes: dict[str, Node] = field(default_factory=dict)

    def start(self, name: str, *arguments: str, resources: dict[str, float] | None = None) -> None:
        """A node named by a custom resource of its own (the state API tells nodes apart by resources)."""
        manager, objects, metrics, agent, agent_grpc, runtime_env = free_ports(6)
        log = self.folder / f"{name}.log"
        command = [
            RAY, "start", "--block", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
            f"--temp-dir={self.ray_dir / name}", f"--node-manager-port={manager}",
            f"--object-manager-port={objects}", f"--metrics-export-port={metrics}",
            f"--dashboard-agent-listen-port={agent}", f"--dashboard-agent-grpc-port={agent_grpc}",
            f"--runtime-env-agent-port={runtime_env}", f"--resources={json.dumps({name: 1} | (resources or {}))}",
            *arguments,
        ]
        process = subprocess.Popen(command, env=self.env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.nodes[name] = Node(name, process, log)

    def get(self, path: str) -> dict:
        response = httpx.get(f"{self.dashboard}{path}", headers=self.auth, timeout=10)
        response.raise_for_status()
        return response.json()

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {Path(self.env['RAY_AUTH_TOKEN_PATH']).read_text()}"}

    def alive_nodes(self) -> dict[str, str]:
        """node id → node name, for every alive node."""
        for node in self.nodes.values():
            node.check()
        nodes = self.get("/api/v0/nodes?limit=100&detail=true")["data"]["result"]["result"]
        return {node["node_id"]: name for node in nodes if node["state"] == "ALIVE"
                for name in self.nodes if name in node["resources_total"]}

    def replica_nodes(self, application: str) -> list[str]:
        details = self.get("/api/serve/applications/")
        deployments = details["applications"][application]["deployments"].values()
        return [replica["node_id"] for deployment in deployments for replica in deployment["replicas"]
                if replica["state"] == "RUNNING"]


@contextmanager
def running_cluster(tmp_path: Path, database_url: str, tiny_model: str) -> Iterator[Cluster]:
    """Head and two workers, both applications deployed and RUNNING; every node killed on exit."""
    gcs, dashboard, proxy = free_ports(3)
    token = tmp_path / "ray-token"
    token.write_text(os.urandom(32).hex())
    env = os.environ | {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token)}
    cluster = Cluster(env=env, dashboard=f"http://127.0.0.1:{dashboard}", proxy=f"http://127.0.0.1:{proxy}",
                      folder=tmp_path, ray_dir=Path(tempfile.mkdtemp(prefix="sl-nodes-")))
    # The head schedules nothing but the API replica (its custom resource); the workers, one CPU and one GPU
    # each: a generation replica takes the GPU, a training job the CPU.
    cluster.start("head", "--head", f"--port={gcs}", "--include-dashboard=true", "--dashboard-host=127.0.0.1",
                  f"--dashboard-port={dashboard}", "--num-cpus=0", "--num-gpus=0", resources={"api_node": 1})
    try:
        until(lambda: cluster.alive_nodes(), 120, "the head")
        for worker in ("worker_a", "worker_b"):
            cluster.start(worker, f"--address=127.0.0.1:{gcs}", "--num-cpus=1", "--num-gpus=1")
        until(lambda: len(cluster.alive_nodes()) == 3, 120, "two workers")
        deploy(cluster, tmp_path, database_url, tiny_model, proxy)
        yield cluster
    finally:
        for node in reversed(list(cluster.nodes.values())):
            if node.process.poll() is None:
                node.kill()
        shutil.rmtree(cluster.ray_dir, ignore_errors=True)


def deploy(cluster: Cluster, folder: Path, database_url: str, tiny_model: str, proxy_port: int) -> None:
    environment = {
        "DATABASE_URL": database_url, "SL_ENV": "test", "SL_DATA_DIR": str(folder / "data"),
        "SL_STORAGE_LOCAL_DIR": str(folder / "objects"), "SL_BASE_MODEL": tiny_model,
        "SL_LIMITS_ENABLED": "false", "SL_LOG_LEVEL": "WARNING", "SL_DIFFUSION_INFERENCE_STEPS": "2",
        **recipe_environment(tiny_training_recipe(epochs=50)),
        # Retries come soon, yet late enough for Serve to replace a lost replica; a lost dispatcher's lease runs
        # out soon.
        "SL_GENERATION_RETRY_DELAYS_SECONDS": "[0, 5, 20, 40]", "SL_GENERATION_LEASE_SECONDS": "10",
        "SL_RAY_DASHBOARD_PORT": cluster.dashboard.rsplit(":", 1)[1], "SL_RAY_JOB_PYTHON": sys.executable,
        "SL_RAY_TRAINING_NUM_GPUS": "0", "SL_RAY_JOB_TORCH_THREADS": "1",
        "SL_RAY_CALLBACK_URL": cluster.proxy, "SL_RAY_JOB_WORK_DIR": str(folder / "training"),
        "SL_RAY_JOB_MODELS_DIR": str(folder / "models"),
    }
    config = yaml.safe_load(SERVE_CONFIG.read_text())
    config["proxy_location"] = "HeadOnly"
    config["http_options"] |= {"host": "127.0.0.1", "port": proxy_port}
    shapes = {
        API_APP_NAME: {"min_replicas": 1, "max_replicas": 1, "num_cpus": 0, "resources": {"api_node": 0.1}},
        GENERATION_APP_NAME: {"min_replicas": 2, "max_replicas": 2, "num_gpus": 1, "num_cpus": 0,
                              "torch_threads": 1, "models_dir": str(folder / "models"),
                              "adapter_cache_dir": str(folder / "adapters")},
    }
    for application in config["applications"]:
        application["args"] |= shapes[application["name"]] | {"replica_env": environment}
    path = folder / "serve.yaml"
    path.write_text(yaml.safe_dump(config))
    subprocess.run([SERVE, "deploy", str(path), "--address", cluster.dashboard], env=cluster.env, check=True,
                   capture_output=True, timeout=120)

    def running() -> bool:
        applications = cluster.get("/api/serve/applications/")["applications"]
        return all(applications[name]["status"] == "RUNNING" for name in (API_APP_NAME, GENERATION_APP_NAME))

    until(running, 300, "both applications RUNNING", interval=1)


def signed_in(cluster: Cluster, email: str) -> httpx.Client:
    client = httpx.Client(base_url=cluster.proxy, timeout=30)
    client.post("/api/v1/auth/dev-login", json={"email": email}).raise_for_status()
    client.headers["X-CSRF-Token"] = client.cookies["sl_csrf"]
    return client


def style_with_adapter(db, folder: Path, adapter: bytes, cost: int = 1) -> Style:
    """A trained style priced at `cost` whose adapter is in the cluster's storage."""
    style = make_style(db, title="Ink Wash", training_status="completed", generation_cost_tokens=cost)
    style.adapter_key = adapter_key(style.id)
    db.commit()
    store = create_object_store(StorageSettings(local_dir=folder / "objects"))
    asyncio.run(store.put(style.adapter_key, adapter, content_type="application/octet-stream"))
    return style
