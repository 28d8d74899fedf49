"""Test harness: a real PostgreSQL (this machine's server when it answers, an embedded one otherwise),
a fresh database per test session with the migrations applied, and a clean database for every test."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from cluster.postgres import (
    create_database,
    drop_database,
    server_answers,
    start_embedded_postgres,
    stop_embedded_postgres,
)
from cluster.processes import OrphanWatch
from core.settings import Settings
from db.engine import create_sync_engine
from db.migrate import upgrade
from platform_api.app import create_app
from tests.helpers import settings_for_tests, truncate_all

LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture(scope="session", autouse=True)
def nothing_outlives_the_suite() -> Iterator[None]:
    """Set up first, so it checks last: every process the suite started (Ray, PostgreSQL, SeaweedFS, the
    launcher's stacks, HAProxy) has stopped once the other fixtures are torn down."""
    orphans = OrphanWatch()
    yield
    left_behind = orphans.stop_left_behind([])
    assert not left_behind, f"still running after the suite: {left_behind}"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server the tests may create databases on."""
    configured = os.environ.get("TEST_DATABASE_URL")
    if configured:
        yield configured
    elif server_answers(LOCAL_SERVER_URL):
        yield LOCAL_SERVER_URL
    else:
        with tempfile.TemporaryDirectory(prefix="sl-test-pg-") as data_dir:
            server = start_embedded_postgres(Path(data_dir))
            yield server.get_uri()
            stop_embedded_postgres(server)


def _fresh_database(server_url: str, purpose: str) -> tuple[str, str]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"sl_test_{purpose}_{worker}_{secrets.token_hex(4)}"
    return name, create_database(server_url, name, exist_ok=False)


@pytest.fixture(scope="session")
def database_url(postgres_server_url: str) -> Iterator[str]:
    """A database for this test session, migrated to head."""
    name, url = _fresh_database(postgres_server_url, "suite")
    upgrade(url)
    yield url
    drop_database(postgres_server_url, name)


@pytest.fixture
def empty_database_url(postgres_server_url: str) -> Iterator[str]:
    """A database with nothing in it, for migration tests."""
    name, url = _fresh_database(postgres_server_url, "empty")
    yield url
    drop_database(postgres_server_url, name)


@pytest.fixture(scope="session")
def sync_engine(database_url: str) -> Iterator[Engine]:
    engine = create_sync_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clean_database(sync_engine: Engine) -> Iterator[None]:
    """Tests commit for real (the API does); every table is emptied afterwards."""
    yield
    truncate_all(sync_engine)


@pytest.fixture
def db(sync_engine: Engine, clean_database: None) -> Iterator[Session]:
    """A plain session for arranging data and checking results; commit what the API must see."""
    with Session(sync_engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return settings_for_tests(database_url, tmp_path)


@pytest.fixture
def client(settings: Settings, clean_database: None) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client



@pytest.fixture(scope="session")
def ray_dashboard() -> Iterator[str]:
    """One local Ray cluster for the whole session (training jobs and Serve share it). The GPUs are fake:
    production resource requests (one GPU per job or replica) schedule, and torch runs on the CPU."""
    import ray

    from tests.stubs.server import free_port

    port = free_port()
    ray.init(address="local", num_cpus=4, num_gpus=4, include_dashboard=True, dashboard_host="127.0.0.1",
             dashboard_port=port, log_to_driver=False)
    yield f"http://127.0.0.1:{port}"
    from ray import serve

    serve.shutdown()  # before the cluster goes: Serve's own tasks must not outlive it
    ray.shutdown()


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    # Two threads on two shared cores were 10-30x slower than one.
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> str:
    """The tiny SD 1.x-shaped model (core.diffusion.development), copied once per session."""
    from core.diffusion import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny"))


@pytest.fixture(scope="session")
def tiny_xl_model(tmp_path_factory) -> str:
    """The tiny SDXL-shaped model (core.diffusion.development), copied once per session."""
    from core.diffusion import build_tiny_model

    return str(build_tiny_model(tmp_path_factory.mktemp("models") / "tiny-xl", family="sdxl"))
