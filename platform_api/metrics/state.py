"""Gauges of the platform's state, read from PostgreSQL on scrape and kept for a short while, so any number
of scrapers and API processes cost one cheap query each per interval. Every process reports the same
values: aggregate them with max(), not sum()."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Generation, TrainingRun
from db.models.generation import GENERATION_STATUSES
from db.models.style import RUN_STATUSES
from platform_api.generations.transitions import CLAIMABLE, FINISHED

IN_FLIGHT = tuple(status for status in GENERATION_STATUSES if status not in FINISHED)


async def _read_state(db: AsyncSession) -> dict[str, dict[str, int]]:
    # Unfinished generations only: the partial index ix_generations_unfinished serves this count.
    generations = dict((await db.execute(
        select(Generation.status, func.count()).where(Generation.status.in_(IN_FLIGHT)).group_by(Generation.status)
    )).all())
    runs = dict((await db.execute(select(TrainingRun.status, func.count()).group_by(TrainingRun.status))).all())
    return {
        "generations": {status: generations.get(status, 0) for status in IN_FLIGHT},
        "training_runs": {status: runs.get(status, 0) for status in RUN_STATUSES},
    }


class PlatformState(Collector):
    def __init__(self, cache_seconds: float):
        self.cache_seconds = cache_seconds
        self._state: dict[str, dict[str, int]] | None = None
        self._read_at = float("-inf")

    async def refresh(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        if time.monotonic() - self._read_at < self.cache_seconds:
            return
        async with sessions() as db:
            self._state = await _read_state(db)
        self._read_at = time.monotonic()

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if self._state is None:
            return
        generations = GaugeMetricFamily("sl_generations_in_flight", "Unfinished generations by status",
                                        labels=["status"])
        for status, count in self._state["generations"].items():
            generations.add_metric([status], count)
        yield generations
        yield GaugeMetricFamily("sl_generation_queue_depth", "Generations waiting for a replica (queued or retrying)",
                                value=sum(self._state["generations"][status] for status in CLAIMABLE))
        runs = GaugeMetricFamily("sl_training_runs", "Training runs by status", labels=["status"])
        for status, count in self._state["training_runs"].items():
            runs.add_metric([status], count)
        yield runs
