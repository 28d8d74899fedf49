"""Shared fixtures for core: a real SeaweedFS server (S3) for the session, both object-store backends, the
platform's provenance keys (development certificates made in a temporary directory) and a sample
generation's provenance facts."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cluster.seaweedfs import SeaweedServer, start_seaweedfs
from core.provenance_info import ProvenanceInfo
from core.provenance_keys import ProvenanceKeys, load_provenance_keys
from core.settings import AppSettings, ProvenanceSettings, Settings, StorageBackend, StorageSettings
from core.storage import LocalObjectStore, ObjectStore, S3ObjectStore

TEST_BUCKET = "style-license-test"


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedServer]:
    server = start_seaweedfs(tmp_path_factory.mktemp("seaweedfs"), bucket=TEST_BUCKET)
    yield server
    server.stop()


def s3_settings(server: SeaweedServer, **overrides) -> StorageSettings:
    return StorageSettings(
        backend=StorageBackend.s3,
        s3_endpoint_url=server.endpoint_url,
        s3_bucket=server.bucket,
        s3_access_key_id=server.access_key_id,
        s3_secret_access_key=server.secret_access_key,
        **overrides,
    )


@pytest.fixture
def s3_store(seaweedfs: SeaweedServer) -> Iterator[S3ObjectStore]:
    store = S3ObjectStore(s3_settings(seaweedfs))
    yield store
    for key in asyncio.run(store.list("")):  # every test starts from an empty bucket
        asyncio.run(store.delete(key))


@pytest.fixture
def local_store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(
        tmp_path / "objects", url_prefix="/media", signing_key="test-signing-key", default_ttl_seconds=60
    )


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> ObjectStore:
    """Each backend in turn, so one test states the contract for both."""
    return request.getfixturevalue(f"{request.param}_store")


@pytest.fixture(scope="session")
def provenance_keys(tmp_path_factory: pytest.TempPathFactory) -> ProvenanceKeys:
    return load_provenance_keys(Settings(
        app=AppSettings(data_dir=tmp_path_factory.mktemp("data")),
        provenance=ProvenanceSettings(watermark_key="test-watermark-key-" + "k" * 16),
    ))


@pytest.fixture
def provenance_info() -> ProvenanceInfo:
    return ProvenanceInfo(
        artist_id=7,
        artist_name="김민아 Mina Kim",
        style_id=31,
        style_title="수채화 정원 Watercolour Garden",
        generation_id=9_000_000_001,
        seed=424242,
        created_at=datetime(2025, 11, 27, 9, 30, tzinfo=UTC),
        platform="Style License",
        licence="Licensed style of 김민아; personal use under the Style License terms.",
    )
