"""Serving fixtures: style adapters (random weights) for the session's tiny model, stored where training
would put them, the replica's settings for a test's storage and data directory, and deploying the app."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.contracts import GENERATION_APP_NAME, GenerationJob
from core.settings import (
    AppSettings,
    DiffusionSettings,
    Environment,
    Settings,
    StorageSettings,
    shared_environment,
)
from core.storage import LocalObjectStore, create_object_store
from serve_apps.generation.app import build_app
from serve_apps.generation.config import GenerationAppConfig
from tests.serving.styles import adapter_key, random_adapter

STYLES = 3


@pytest.fixture(scope="session")
def style_adapters(tiny_model: str) -> dict[int, bytes]:
    """Adapter bytes by style id."""
    from diffusers import UNet2DConditionModel

    unet = UNet2DConditionModel.from_pretrained(tiny_model, subfolder="unet")
    return {style: random_adapter(unet, seed=style) for style in range(1, STYLES + 1)}


@pytest.fixture(scope="session")
def sdxl_style_adapter(tiny_xl_model: str) -> bytes:
    """An adapter of the tiny SDXL model: a style an SD 1.x replica must refuse."""
    from diffusers import UNet2DConditionModel

    from core.diffusion.families import SDXL

    return random_adapter(UNet2DConditionModel.from_pretrained(tiny_xl_model, subfolder="unet"), seed=7, family=SDXL)


def replica_settings(root: Path, base_model: str) -> Settings:
    """What a replica reads from its environment (`replica_environment` spells it out for Ray)."""
    return Settings(
        app=AppSettings(env=Environment.test, data_dir=root / "data"),
        storage=StorageSettings(local_dir=root / "objects"),
        diffusion=DiffusionSettings(base_model=base_model),
    )


@pytest.fixture
def serving_settings(tmp_path: Path, tiny_model: str) -> Settings:
    return replica_settings(tmp_path, tiny_model)


def replica_environment(settings: Settings) -> dict[str, str]:
    return {
        "SL_ENV": settings.app.env.value,
        "SL_DATA_DIR": str(settings.app.data_dir.resolve()),
        "SL_STORAGE": settings.storage.backend.value,
        "SL_STORAGE_LOCAL_DIR": str(settings.storage.local_dir.resolve()),
        "SL_BASE_MODEL": settings.diffusion.base_model,
    }


@pytest.fixture
def store(serving_settings: Settings) -> LocalObjectStore:
    return create_object_store(serving_settings.storage)


async def put_styles(store, adapters: dict[int, bytes]) -> None:
    for style, data in adapters.items():
        await store.put(adapter_key(style), data, content_type="application/octet-stream")


def job(generation_id: int, style: int, *, seed: int = 7, size: int = 256, steps: int = 2, **changes) -> GenerationJob:
    values = dict(
        generation_id=generation_id, adapter_key=adapter_key(style), prompt=f"style {style}, mountain lake",
        width=size, height=size, seed=seed, steps=steps, guidance_scale=7.0, artist_id=10 + style,
        artist_name=f"Painter {style}", signature_key=None, style_id=style, style_title=f"Style {style}",
        created_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
    )
    return GenerationJob(**(values | changes))


def run_app(app, name: str, *, timeout: float = 120):
    """`serve.run` with a deadline: a replica that cannot be scheduled would block it forever."""
    from ray import serve

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(serve.run, app, name=name, route_prefix=None).result(timeout=timeout)
    except TimeoutError:
        serve.delete(name)
        raise
    finally:
        pool.shutdown(wait=False)


def deploy_generation_app(settings: Settings) -> None:
    """The generation application on the session's cluster: one replica with the API's storage and model."""
    config = GenerationAppConfig(min_replicas=1, max_replicas=1, num_gpus=1, num_cpus=0, torch_threads=1,
                                 replica_env=shared_environment(settings) | {"SL_ENV": "test"},
                                 models_dir=settings.app.data_dir / "models",
                                 adapter_cache_dir=settings.app.data_dir / "adapters")
    run_app(build_app(config), GENERATION_APP_NAME)


@pytest.fixture
def ray_nodes(tmp_path: Path, database_url: str, clean_database, tiny_model: str):
    """A head and two worker nodes started with `ray start`, both applications RUNNING (ray_cluster.py)."""
    from tests.serving.ray_cluster import running_cluster

    with running_cluster(tmp_path, database_url, tiny_model) as cluster:
        yield cluster
