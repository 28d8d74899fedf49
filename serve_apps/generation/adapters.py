"""Style adapters copied from object storage to the replica's disk, where the pipeline loads them."""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

from core import storage_keys
from core.storage import ObjectNotFound, ObjectStore

log = logging.getLogger(__name__)

PARTIAL_PREFIX = ".download-"


class AdapterCache:
    """One download per adapter however many requests want it at once (they share the download in flight),
    retried with backoff when storage fails; a missing adapter (`ObjectNotFound`) is never retried.

    Files live at `directory/<key>` (keys are checked to stay inside it) and are written through a temporary
    file and a rename, so a file that is there is complete. Least recently used files go once the directory
    holds more than `max_bytes`."""

    def __init__(self, store: ObjectStore, directory: Path, *, attempts: int = 3, backoff_seconds: float = 0.5,
                 max_bytes: int | None = None):
        self.store = store
        self.directory = directory
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.max_bytes = max_bytes
        self.downloads = 0  # completed downloads, for tests and diagnostics
        self._in_flight: dict[str, asyncio.Task[Path]] = {}

    def path(self, key: str) -> Path:
        storage_keys.check_key(key)
        return self.directory / key

    async def fetch(self, key: str) -> Path:
        """The adapter's local file, downloaded unless it is already on disk."""
        path = self.path(key)
        if path.exists():
            path.touch()  # recently used: pruned last
            return path
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.create_task(self._download(key, path))
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        # A caller that gives up must not cancel the download the others are waiting for.
        return await asyncio.shield(task)

    def discard(self, key: str) -> None:
        """Forget a copy that turned out unusable, so the next fetch downloads it again."""
        self.path(key).unlink(missing_ok=True)

    async def _download(self, key: str, path: Path) -> Path:
        for attempt in range(1, self.attempts + 1):
            try:
                data = await self.store.get(key)
                break
            except ObjectNotFound:
                raise
            except Exception as error:
                if attempt == self.attempts:
                    raise
                delay = self.backoff_seconds * 2 ** (attempt - 1)
                log.warning("adapter download failed, retrying", extra={
                    "key": key, "attempt": attempt, "delay_s": delay, "error": repr(error)})
                await asyncio.sleep(delay)
        await asyncio.to_thread(self._write, path, data)
        self.downloads += 1
        if self.max_bytes is not None:
            await asyncio.to_thread(self._prune, keep=path)
        return path

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Replicas on one node may share the directory: each writes its own partial file, then renames.
        partial = path.with_name(f"{PARTIAL_PREFIX}{os.getpid()}-{path.name}")
        try:
            partial.write_bytes(data)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    def _prune(self, *, keep: Path) -> None:
        files = [p for p in self.directory.rglob("*") if p.is_file() and not p.name.startswith(PARTIAL_PREFIX)]
        stats = {p: p.stat() for p in files}
        total = sum(stat.st_size for stat in stats.values())
        for path in sorted(files, key=lambda p: stats[p].st_mtime):
            if total <= self.max_bytes:
                break
            if path != keep:
                path.unlink(missing_ok=True)
                total -= stats[path].st_size
