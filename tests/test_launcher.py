"""`make run` on embedded defaults: no DATABASE_URL, no other service; the data survives a restart."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import httpx
import psycopg
import pytest

from bench import load
from cluster.postgres import libpq_url

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Launch:
    def __init__(self, data_dir: Path, port: int, **extra_env: str):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "SL_DATABASE_URL")}
        self.dashboard_port = _free_port()
        env |= {"SL_DATA_DIR": str(data_dir), "SL_PORT": str(port), "SL_ENV": "development",
                "SL_RAY_DASHBOARD_PORT": str(self.dashboard_port), "SL_RAY_GCS_PORT": str(_free_port())} | extra_env
        self.port = port
        self.log = data_dir.parent / f"launch-{port}.log"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cluster.local"], cwd=REPO, env=env,
            stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 240) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                response = httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=2)
                # Ready once the API answers and the launcher has printed where (it polls the API too).
                if response.status_code == 200 and "Style License is running" in self.log.read_text():
                    return response.json()
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError("not ready in time:\n" + self.log.read_text())

    def logged(self, field: str) -> str:
        for line in self.log.read_text().splitlines():
            if line.startswith("{") and f'"{field}"' in line:
                return json.loads(line)[field]
        raise AssertionError(f"the launcher did not log {field}")

    def database_url(self) -> str:
        return self.logged("database_url")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=30) == 0, self.log.read_text()


def test_make_run_serves_with_embedded_postgres_and_keeps_data(tmp_path: Path):
    data_dir = tmp_path / "data"
    first = Launch(data_dir, _free_port(), SL_LIMITS_ENABLED="false")  # the crowd below shares one address
    try:
        assert first.wait_ready()["data"] == {"status": "ready", "database": "ok"}
        assert "Style License is running: http://localhost:" in first.log.read_text()
        dashboard = f"http://127.0.0.1:{first.dashboard_port}/api/version"
        assert httpx.get(dashboard, timeout=5).status_code == 401  # Ray's token authentication is on
        # The API answering on SL_PORT is the Serve application, beside the generation application.
        token = (data_dir / "ray" / "auth_token").read_text()
        serve = httpx.get(f"http://127.0.0.1:{first.dashboard_port}/api/serve/applications/",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert set(serve["applications"]) == {"api", "generation"}
        assert serve["applications"]["api"]["status"] == "RUNNING"
        assert serve["proxy_location"] == "HeadOnly" and serve["http_options"]["port"] == first.port
        with psycopg.connect(libpq_url(first.database_url()), autocommit=True) as connection:
            connection.execute(
                "INSERT INTO auth.users (email, username) VALUES ('kept@example.com', 'kept_user')"
            )
        _a_short_crowd(first, data_dir)
    finally:
        first.stop()
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL was left running"
    assert not (data_dir / "run.pid").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(dashboard, timeout=2)  # the Ray head it started is gone

    second = Launch(data_dir, _free_port())
    try:
        second.wait_ready()
        with psycopg.connect(libpq_url(second.database_url())) as connection:
            rows = connection.execute("SELECT username FROM auth.users WHERE email = 'kept@example.com'").fetchall()
        assert rows == [("kept_user",)]
    finally:
        second.stop()


def _a_short_crowd(launch: Launch, data_dir: Path) -> None:
    """bench/load.py's crowd, briefly (the CI profile of the load benchmark): every action answered, no 5xx."""
    database_url = launch.database_url()
    load.seed(database_url, data_dir, images=200)
    results = asyncio.run(load.drive(f"http://127.0.0.1:{launch.port}", users=10, seconds=6, think_ms=300,
                                     image_ids=load.public_image_ids(database_url)))
    assert results.server_errors == 0 and not results.errors, dict(results.errors)
    assert {"feed", "styles", "search", "image"} <= set(results.latencies)


def test_make_run_starts_and_stops_seaweedfs_for_s3_local(tmp_path: Path):
    data_dir = tmp_path / "data"
    launch = Launch(data_dir, _free_port(), SL_STORAGE="s3-local")
    try:
        launch.wait_ready()  # the API built its S3 object store from what the launcher filled in
        endpoint = launch.logged("s3_endpoint")
        credentials = json.loads((data_dir / "seaweedfs" / "credentials.json").read_text())
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=credentials["access_key_id"],
                          aws_secret_access_key=credentials["secret_access_key"])
        s3.head_bucket(Bucket="style-license")
    finally:
        launch.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(endpoint, timeout=2)
