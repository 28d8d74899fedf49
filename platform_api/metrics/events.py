"""Counters of business events, counted only once their transaction has committed.

Each counter has one owner that counts it: the ledger counts tokens moved, generation transitions count
finished generations. They are process-wide (Prometheus sums the API processes) and registered into each
app's registry by `platform_api.metrics.router`.
"""

from __future__ import annotations

from prometheus_client import Counter
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

_PENDING = "metrics_after_commit"

LEDGER_TOKENS = Counter(
    "sl_ledger_tokens", "Tokens moved by committed ledger rows, by kind (generation_reserve: reserved, "
    "generation_settle: settled to artists, generation_refund: refunded)", ["kind"], registry=None,
)
GENERATIONS_FINISHED = Counter(
    "sl_generations_finished", "Generations that ended, by final status", ["status"], registry=None,
)
EVENT_COUNTERS = (LEDGER_TOKENS, GENERATIONS_FINISHED)


def count_after_commit(db: AsyncSession, counter: Counter, amount: float = 1) -> None:
    """Add `amount` to `counter` when `db`'s transaction commits; a rollback forgets it."""
    db.sync_session.info.setdefault(_PENDING, []).append((counter, amount))


@event.listens_for(Session, "after_commit")
def _publish(session: Session) -> None:
    for counter, amount in session.info.pop(_PENDING, []):
        counter.inc(amount)


@event.listens_for(Session, "after_rollback")
def _forget(session: Session) -> None:
    session.info.pop(_PENDING, None)
