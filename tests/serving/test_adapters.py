"""The replica's adapter cache: storage → disk, one download per adapter, retries, a bounded directory."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from core.storage import LocalObjectStore, ObjectNotFound
from serve_apps.generation.adapters import AdapterCache

KEY = "private/styles/1/runs/1/pytorch_lora_weights.safetensors"


class CountingStore:
    """A store that counts downloads, takes its time and fails the first `failures` of them."""

    def __init__(self, inner: LocalObjectStore, *, delay: float = 0.0, failures: int = 0):
        self.inner, self.delay, self.failures = inner, delay, failures
        self.gets = 0

    async def get(self, key: str) -> bytes:
        self.gets += 1
        await asyncio.sleep(self.delay)
        if self.gets <= self.failures:
            raise ConnectionError("storage hiccup")
        return await self.inner.get(key)


def _stored(store: LocalObjectStore, key: str = KEY, data: bytes = b"adapter weights") -> bytes:
    asyncio.run(store.put(key, data, content_type="application/octet-stream"))
    return data


def test_three_concurrent_loads_download_once(store: LocalObjectStore, tmp_path: Path):
    data = _stored(store)
    counting = CountingStore(store, delay=0.2)
    cache = AdapterCache(counting, tmp_path / "cache")

    async def three_loads():
        return await asyncio.gather(*(cache.fetch(KEY) for _ in range(3)))

    paths = asyncio.run(three_loads())
    assert counting.gets == 1 and cache.downloads == 1
    assert len(set(paths)) == 1 and paths[0].read_bytes() == data
    asyncio.run(cache.fetch(KEY))  # on disk now: no download at all
    assert counting.gets == 1


def test_a_caller_giving_up_does_not_cancel_the_shared_download(store: LocalObjectStore, tmp_path: Path):
    _stored(store)
    counting = CountingStore(store, delay=0.2)
    cache = AdapterCache(counting, tmp_path / "cache")

    async def one_gives_up():
        impatient = asyncio.create_task(cache.fetch(KEY))
        patient = asyncio.create_task(cache.fetch(KEY))
        await asyncio.sleep(0.05)
        impatient.cancel()
        return await patient

    assert asyncio.run(one_gives_up()).exists() and counting.gets == 1


def test_storage_failures_are_retried_with_backoff(store: LocalObjectStore, tmp_path: Path):
    data = _stored(store)
    counting = CountingStore(store, failures=2)
    cache = AdapterCache(counting, tmp_path / "cache", attempts=3, backoff_seconds=0.01)
    assert asyncio.run(cache.fetch(KEY)).read_bytes() == data
    assert counting.gets == 3

    failing = AdapterCache(CountingStore(store, failures=5), tmp_path / "other", attempts=2, backoff_seconds=0.01)
    with pytest.raises(ConnectionError):
        asyncio.run(failing.fetch(KEY))
    assert not failing.path(KEY).exists()


def test_a_missing_adapter_is_not_retried(store: LocalObjectStore, tmp_path: Path):
    counting = CountingStore(store)
    cache = AdapterCache(counting, tmp_path / "cache", attempts=3, backoff_seconds=0.01)
    with pytest.raises(ObjectNotFound):
        asyncio.run(cache.fetch(KEY))
    assert counting.gets == 1


def test_least_recently_used_files_go_when_the_directory_is_full(store: LocalObjectStore, tmp_path: Path):
    keys = [f"private/styles/{n}/runs/1/pytorch_lora_weights.safetensors" for n in range(3)]
    for key in keys:
        _stored(store, key, b"x" * 100)
    cache = AdapterCache(store, tmp_path / "cache", max_bytes=250)
    first, second = (asyncio.run(cache.fetch(key)) for key in keys[:2])
    os.utime(second, (1, 1))  # the second is now the least recently used
    asyncio.run(cache.fetch(keys[2]))
    assert first.exists() and not second.exists() and cache.path(keys[2]).exists()
