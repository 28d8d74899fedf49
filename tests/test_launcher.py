"""`make run` on embedded defaults: no DATABASE_URL, no other service; the data survives a restart."""

from __future__ import annotations

import asyncio
import json
import socket
from pathlib import Path

import boto3
import httpx
import psutil
import psycopg
import pytest

from bench import load
from cluster.local_process import LocalPlatform
from cluster.postgres import libpq_url
from cluster.processes import descendants
from cluster.ray_head import HAPROXY_INGRESS
from tests.helpers import until


def test_make_run_serves_with_embedded_postgres_and_keeps_data(tmp_path: Path):
    data_dir = tmp_path / "data"
    first = LocalPlatform(data_dir, SL_LIMITS_ENABLED="false")  # the crowd below shares one address
    try:
        assert first.wait_ready()["data"] == {"status": "ready", "database": "ok"}
        assert "Style License is running: http://localhost:" in first.log.read_text()
        token_file = (data_dir / "ray" / "auth_token").resolve()
        assert f"(it asks for the token in {token_file})" in first.log.read_text()  # how to open the dashboard
        dashboard = f"http://127.0.0.1:{first.dashboard_port}/api/version"
        assert httpx.get(dashboard, timeout=5).status_code == 401  # Ray's token authentication is on
        # The API answering on SL_PORT is the Serve application, beside the generation application.
        token = token_file.read_text()
        serve = httpx.get(f"http://127.0.0.1:{first.dashboard_port}/api/serve/applications/",
                          headers={"Authorization": f"Bearer {token}"}, timeout=10).json()
        assert set(serve["applications"]) == {"api", "generation"}
        assert serve["applications"]["api"]["status"] == "RUNNING"
        assert serve["proxy_location"] == "HeadOnly" and serve["http_options"]["port"] == first.port
        with psycopg.connect(libpq_url(first.logged("database_url")), autocommit=True) as connection:
            connection.execute(
                "INSERT INTO auth.users (email, username) VALUES ('kept@example.com', 'kept_user')"
            )
        _a_short_crowd(first, data_dir)
        # Images are drawn on the same CPUs as the API's requests, after them.
        assert (_replica_niceness("generation"), _replica_niceness("api")) == (10, 0)
    finally:
        assert first.stop() == 0, first.log.read_text()
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL was left running"
    assert not (data_dir / "run.pid").exists()
    with pytest.raises(httpx.ConnectError):
        httpx.get(dashboard, timeout=2)  # the Ray head it started is gone

    # Again, behind Ray Serve's HAProxy ingress (docs/operations.md, Ingress) instead of its Python proxy.
    second = LocalPlatform(data_dir, **HAPROXY_INGRESS)
    try:
        second.wait_ready()
        assert _haproxy_in(second), "HAProxy is not among the platform's processes"
        with psycopg.connect(libpq_url(second.logged("database_url"))) as connection:
            rows = connection.execute("SELECT username FROM auth.users WHERE email = 'kept@example.com'").fetchall()
        assert rows == [("kept_user",)]
    finally:
        assert second.stop() == 0, second.log.read_text()  # and nothing it started outlived it (HAProxy was)


def _a_short_crowd(launch: LocalPlatform, data_dir: Path) -> None:
    """bench/load.py's crowd, briefly (the CI profile of the load benchmark): every action answered, no 5xx."""
    database_url = launch.logged("database_url")
    load.seed(database_url, data_dir, images=200)
    results = asyncio.run(load.drive(launch.url, users=10, seconds=6, think_ms=300,
                                     image_ids=load.public_image_ids(database_url)))
    assert results.server_errors == 0 and not results.errors, dict(results.errors)
    assert {"feed", "styles", "search", "image"} <= set(results.latencies)


def _haproxy_in(launch: LocalPlatform) -> bool:
    return any(process.name() == "haproxy" for process in descendants(launch.process.pid))


def _replica_niceness(application: str) -> int:
    """The niceness of the application's replica, once it runs (the API answers while the generation replica
    may still be starting on a loaded machine)."""
    def replicas():
        return [process for process in psutil.process_iter(["cmdline"])
                if any(f"ServeReplica:{application}:" in part for part in process.info["cmdline"] or ())]

    [replica] = until(replicas, 180, f"the {application} replica", interval=0.5)
    return replica.nice()


def test_make_run_starts_and_stops_seaweedfs_for_s3_local(tmp_path: Path):
    data_dir = tmp_path / "data"
    launch = LocalPlatform(data_dir, SL_STORAGE="s3-local")
    try:
        launch.wait_ready()  # the API built its S3 object store from what the launcher filled in
        endpoint = launch.logged("s3_endpoint")
        credentials = json.loads((data_dir / "seaweedfs" / "credentials.json").read_text())
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id=credentials["access_key_id"],
                          aws_secret_access_key=credentials["secret_access_key"])
        s3.head_bucket(Bucket="style-license")
    finally:
        assert launch.stop() == 0, launch.log.read_text()
    with pytest.raises(httpx.ConnectError):
        httpx.get(endpoint, timeout=2)


def test_a_failed_start_stops_what_it_started_and_says_why(tmp_path: Path):
    """The Ray head cannot start (its port is taken): the launcher exits non-zero with Ray's own words in its
    log, and the PostgreSQL it had already started is stopped; nothing it started outlives it."""
    data_dir = tmp_path / "data"
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        launch = LocalPlatform(data_dir, SL_RAY_GCS_PORT=str(taken.getsockname()[1]))
        with pytest.raises(RuntimeError, match="the launcher exited with 1"):
            launch.wait_ready(timeout=240)
        assert launch.stop() == 1  # raises LeftBehind if anything it started were still running
    assert "ray start exited with" in launch.log.read_text()
    assert "Failed to start GCS" in launch.log.read_text()
    assert not (data_dir / "postgres" / "postmaster.pid").exists(), "PostgreSQL was left running"
