"""The platform's business metrics, read from PostgreSQL on scrape and kept for a short while: gauges of its
state and counters taken from the records themselves (tokens moved by ledger kind, generations finished).
Read from the database, they are exact whichever API replica Serve's proxy sends the scrape to, and count
only what committed; any number of scrapers and replicas cost one read each per interval. Every replica
reports the same values: aggregate them with max(), not sum()."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from db.models import Generation, TrainingRun, Transaction
from db.models.generation import GENERATION_STATUSES
from db.models.style import RUN_STATUSES
from db.models.token import LEDGER_KINDS
from platform_api.generations.transitions import CLAIMABLE, FINISHED

IN_FLIGHT = tuple(status for status in GENERATION_STATUSES if status not in FINISHED)


async def _read_state(db: AsyncSession) -> dict[str, dict[str, int]]:
    # One pass over the generations for both the unfinished and the finished counts.
    generations = dict((await db.execute(
        select(Generation.status, func.count()).group_by(Generation.status)
    )).all())
    runs = dict((await db.execute(select(TrainingRun.status, func.count()).group_by(TrainingRun.status))).all())
    tokens = dict((await db.execute(
        select(Transaction.kind, func.sum(Transaction.amount)).group_by(Transaction.kind)
    )).all())
    return {
        "generations": {status: generations.get(status, 0) for status in IN_FLIGHT},
        "finished": {status: generations.get(status, 0) for status in FINISHED},
        "training_runs": {status: runs.get(status, 0) for status in RUN_STATUSES},
        "tokens": {kind: int(tokens.get(kind) or 0) for kind in LEDGER_KINDS},
    }


def _by_label(family: type[GaugeMetricFamily | CounterMetricFamily], name: str, documentation: str, label: str,
              values: dict[str, int]) -> GaugeMetricFamily | CounterMetricFamily:
    metric = family(name, documentation, labels=[label])
    for key, value in values.items():
        metric.add_metric([key], value)
    return metric


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

    def collect(self) -> Iterator[GaugeMetricFamily | CounterMetricFamily]:
        if self._state is None:
            return
        state = self._state
        yield _by_label(GaugeMetricFamily, "sl_generations_in_flight", "Unfinished generations by status", "status",
                        state["generations"])
        yield GaugeMetricFamily("sl_generation_queue_depth", "Generations waiting for a replica (queued or retrying)",
                                value=sum(state["generations"][status] for status in CLAIMABLE))
        yield _by_label(GaugeMetricFamily, "sl_training_runs", "Training runs by status", "status",
                        state["training_runs"])
        yield _by_label(CounterMetricFamily, "sl_generations_finished", "Generations that ended, by final status",
                        "status", state["finished"])
        yield _by_label(CounterMetricFamily, "sl_ledger_tokens", "Tokens moved by ledger rows, by kind "
                        "(generation_reserve: reserved, generation_settle: settled to artists, generation_refund: "
                        "refunded)", "kind", state["tokens"])
