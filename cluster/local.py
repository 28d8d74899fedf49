"""`make run`: the whole platform on one machine with embedded defaults.

Starts what is not configured (PostgreSQL when DATABASE_URL is unset, SeaweedFS when SL_STORAGE=s3-local),
applies migrations and serves the API. Everything it starts stops with it (Ctrl-C or `make stop`); data
stays under SL_DATA_DIR.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from cluster.accelerators import choose_gpus, local_gpu_count, torch_is_cpu_only
from cluster.deploy import local_serve_config, serve_deploy
from cluster.postgres import create_database, start_embedded_postgres, stop_embedded_postgres
from cluster.processes import adopt_orphans, descendants, stop_processes
from cluster.ray_head import BACKGROUND_NICENESS, RayHead, ray_token_file, start_ray_head
from cluster.seaweedfs import SeaweedServer, start_seaweedfs
from core.settings import (
    DEVELOPMENT_MODELS,
    DEVELOPMENT_NOTICE,
    RaySettings,
    Settings,
    StorageBackend,
    StorageSettings,
    get_settings,
)
from db.migrate import upgrade
from platform_api.logs import configure_logging

log = logging.getLogger("cluster.local")
DATABASE_NAME = "style_license"


def main() -> None:
    settings = get_settings()
    configure_logging(settings.app.log_level)
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    data_dir = settings.app.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    pid_file = data_dir / "run.pid"
    pid_file.write_text(str(os.getpid()))
    # `make stop` sends SIGTERM; leave through the same path as Ctrl-C so every atexit cleanup runs.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    adopt_orphans()

    postgres = seaweedfs = ray_head = api = None
    try:
        if not settings.database.url:
            postgres = start_embedded_postgres(data_dir / "postgres")
            database_url = create_database(postgres.get_uri(), DATABASE_NAME)
            os.environ["DATABASE_URL"] = database_url
            settings.database.url = database_url
            log.info("embedded PostgreSQL running", extra={"database_url": database_url})
        if settings.storage.backend is StorageBackend.s3_local:
            seaweedfs = _start_local_s3(settings.storage, data_dir)
        upgrade(settings.database.url)
        url = f"http://{'localhost' if settings.app.host in ('127.0.0.1', '0.0.0.0') else settings.app.host}:{settings.app.port}"
        if settings.diffusion.base_model in DEVELOPMENT_MODELS:
            log.warning(DEVELOPMENT_NOTICE.format(model=settings.diffusion.base_model))
        if settings.ray.address:
            # A cluster configured elsewhere: the API runs here under uvicorn and calls into it.
            api = subprocess.Popen([
                sys.executable, "-m", "uvicorn", "platform_api.app:create_app", "--factory",
                "--host", settings.app.host, "--port", str(settings.app.port), "--no-access-log",
            ])
            _announce(url, settings.ray.dashboard_url, "the cluster's token (RAY_AUTH_TOKEN_PATH)")
            api.wait()
        else:
            gpus, why = choose_gpus(local_gpu_count(), torch_is_cpu_only())
            log.info(why, extra={"gpus": gpus})
            ray_head = _start_local_ray(settings, data_dir, url, gpus)
            # Both Serve applications, as in production: the API behind Serve's HTTP proxy on SL_PORT.
            serve_deploy(local_serve_config(settings, gpus=gpus), data_dir / "serve.yaml", ray_head.dashboard_url)
            _wait_until_answering(url, ray_head)
            _announce(url, ray_head.dashboard_url, f"the token in {ray_token_file(data_dir)}")
            ray_head.process.wait()
    finally:
        # A second Ctrl-C or `make stop` must not cut the stopping short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if api is not None:
            _stop_process(api)
        if ray_head is not None:
            ray_head.stop()
        if seaweedfs is not None:
            seaweedfs.stop()
        if postgres is not None:
            stop_embedded_postgres(postgres)
        left_behind = stop_processes(descendants())
        if left_behind:
            log.warning("stopped processes the platform left behind", extra={"processes": left_behind})
        pid_file.unlink(missing_ok=True)


def _announce(url: str, dashboard_url: str, dashboard_token: str) -> None:
    print(f"\n  Style License is running: {url}\n  API docs: {url}/docs\n"
          f"  Ray dashboard: {dashboard_url} (it asks for {dashboard_token})\n"
          f"  Stop: Ctrl-C or `make stop`\n", flush=True)


def _wait_until_answering(url: str, ray_head: RayHead, timeout: float = 300) -> None:
    """Serve brings the API replica up in the background (the generation replica loads its model too)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ray_head.process.poll() is not None:
            raise RuntimeError("the Ray head stopped while the applications were deploying")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the API did not answer at {url} within {timeout:.0f} s; see `serve status` and "
                       f"the Ray dashboard's Serve page")


def _start_local_ray(settings: Settings, data_dir: Path, api_url: str, gpus: int) -> RayHead:
    """A Ray head on this machine with its GPUs; training jobs run with this interpreter and call this API
    back."""
    head = start_ray_head(settings.ray, data_dir, num_gpus=gpus)
    os.environ |= {
        "SL_RAY_JOB_PYTHON": sys.executable,
        "SL_RAY_CALLBACK_URL": api_url,
        "SL_RAY_JOB_WORK_DIR": str((data_dir / "training").resolve()),
        "SL_RAY_JOB_MODELS_DIR": str((data_dir / "models").resolve()),
        # A job takes one GPU where there is one, and runs on the CPUs where there is none.
        "SL_RAY_TRAINING_NUM_GPUS": "1" if gpus else "0",
        "SL_RAY_GENERATION_NUM_GPUS": "1" if gpus else "0",
        # ...after the API's requests, which share them.
        "SL_RAY_JOB_NICENESS": str(BACKGROUND_NICENESS),
        "RAY_ADDRESS": f"127.0.0.1:{settings.ray.gcs_port}",
    }
    settings.ray = RaySettings()
    log.info("Ray head running", extra={"dashboard": head.dashboard_url})
    return head


def _stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start_local_s3(storage: StorageSettings, data_dir: Path) -> SeaweedServer:
    """SeaweedFS under SL_DATA_DIR/seaweedfs; its endpoint and keys go where the API (and anything this
    process starts) reads its storage settings."""
    server = start_seaweedfs(data_dir / "seaweedfs", bucket=storage.s3_bucket)
    storage.s3_endpoint_url = server.endpoint_url
    storage.s3_access_key_id = server.access_key_id
    storage.s3_secret_access_key = server.secret_access_key
    os.environ |= {
        "SL_STORAGE_S3_ENDPOINT_URL": server.endpoint_url,
        "SL_STORAGE_S3_ACCESS_KEY_ID": server.access_key_id,
        "SL_STORAGE_S3_SECRET_ACCESS_KEY": server.secret_access_key,
    }
    return server


if __name__ == "__main__":
    main()
