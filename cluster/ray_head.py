"""A local Ray head for the embedded run: dashboard and Jobs API on 127.0.0.1, its own GCS port (6379 is
often Redis), token authentication as Ray sets it up. It runs as `ray start --block` in its own process
group, so stopping it stops exactly the processes it started and no other Ray on the machine."""

from __future__ import annotations

import hashlib
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from cluster.ports import free_ports
from core.settings import RaySettings

# Ray's setting for the scheduling priority of its worker processes (tasks, actors, Serve replicas).
WORKER_NICENESS = "RAY_worker_niceness"
# Ray Serve's high-throughput ingress (Ray >= 2.55): HAProxy on each node in place of Serve's Python proxy,
# sending HTTP straight to the API replicas, and gRPC between replicas. Opt-in: its replicas listen on every
# interface, and the callers' addresses need SL_TRUSTED_PROXIES (docs/operations.md, Ingress).
HAPROXY_INGRESS = {"RAY_SERVE_ENABLE_HA_PROXY": "1", "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1"}
# What background work on a shared machine runs at: after the API's requests, with the CPU time they leave.
BACKGROUND_NICENESS = 10


@dataclass
class RayHead:
    process: subprocess.Popen
    dashboard_url: str

    def stop(self, timeout: float = 30) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGINT)  # `ray start --block` shuts its node down on Ctrl-C
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def _temp_dir(data_dir: Path) -> Path:
    # Ray's socket paths must stay short, so its session files go under /tmp, one folder per data dir.
    digest = hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"sl-ray-{digest}"


def _haproxy_environment(temp_dir: Path) -> dict[str, str]:
    """HAProxy's stats and metrics listeners, this stack's own: Ray's are fixed (8404 and 9101), so a second
    stack on the machine failed to start. Its files go under the stack's own Ray folder too, not the shared
    /tmp/haproxy-serve."""
    stats_port, metrics_port = free_ports(2)
    # Serve puts a 56-character node id between folder and file; HAProxy takes socket paths of 97 at most.
    folder = temp_dir / "hp"
    return {
        "RAY_SERVE_HAPROXY_STATS_PORT": str(stats_port),
        "RAY_SERVE_HAPROXY_METRICS_PORT": str(metrics_port),
        "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": str(folder / "haproxy.cfg"),
        "RAY_SERVE_HAPROXY_SOCKET_PATH": str(folder / "admin.sock"),
        "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": str(folder / "metrics.sock"),
        "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": str(folder),
        "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": str(folder / "server-state"),
    }


def ray_token_file(data_dir: Path) -> Path:
    """Where the local head's token lives: the dashboard asks for it, `ray` commands read it."""
    return (data_dir / "ray" / "auth_token").resolve()


def use_token_auth(data_dir: Path) -> None:
    """Token authentication with a token kept under the data dir; set in this process's environment so the
    head, the API's Jobs client and every job share it."""
    token_file = ray_token_file(data_dir)
    if not token_file.exists():
        token_file.parent.mkdir(parents=True, exist_ok=True)
        token_file.write_text(secrets.token_hex(32))
        token_file.chmod(0o600)
    os.environ |= {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN_PATH": str(token_file)}


def start_ray_head(settings: RaySettings, data_dir: Path, *, num_cpus: int | None = None, num_gpus: int = 0,
                   log_file: Path | None = None, timeout: float = 120) -> RayHead:
    use_token_auth(data_dir)
    ray = Path(sys.executable).with_name("ray")
    temp_dir = _temp_dir(data_dir)
    command = [
        str(ray), "start", "--head", "--block", "--disable-usage-stats",
        f"--port={settings.gcs_port}", "--node-ip-address=127.0.0.1",
        "--include-dashboard=true", f"--dashboard-host={settings.dashboard_host}",
        f"--dashboard-port={settings.dashboard_port}", f"--temp-dir={temp_dir}",
        f"--num-gpus={num_gpus}",
    ] + ([f"--num-cpus={num_cpus}"] if num_cpus else [])
    output = (log_file or data_dir / "ray-head.log").open("a")
    # Ray runs its workers at niceness 15 by default, behind everything else on the node. On one machine that
    # put the API and Serve's proxy behind PostgreSQL and any busy process; here they are as urgent as the
    # database, and background work (image drawing, training) asks for less itself.
    environment = _haproxy_environment(temp_dir) | os.environ | {WORKER_NICENESS: "0"}
    process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True,
                               env=environment)
    head = RayHead(process=process, dashboard_url=settings.dashboard_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"ray start exited with {process.returncode}:\n{_tail(output.name)}")
        try:
            if httpx.get(f"{head.dashboard_url}/api/version", timeout=2).status_code < 500:  # 401 means up
                return head
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    head.stop()
    raise RuntimeError(f"the Ray dashboard did not answer within {timeout:.0f} s:\n{_tail(output.name)}")


def _tail(log_file: str, characters: int = 3000) -> str:
    return Path(log_file).read_text(errors="replace")[-characters:]
