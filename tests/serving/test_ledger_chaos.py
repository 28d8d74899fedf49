"""Ledger chaos: many users request generations at once on the three-node cluster (ray_cluster.py) while
generation replicas are killed, the API's replica is killed (Serve restarts it) and PostgreSQL drops every
connection of the platform (`pg_terminate_backend`), at seeded random moments. Clients retry what failed in
transit with the same Idempotency-Key, as the SDK does. Every request ends as one generation, completed or
refunded, charged once; each user's balance is the welcome bonus less their completed images; the ledger
audit is clean.

CI runs a short profile; the full one (1,000 requests from 50 users) is
`SL_CHAOS_REQUESTS=1000 SL_CHAOS_USERS=50 .venv/bin/python -m pytest tests/serving/test_ledger_chaos.py`.
A failure prints its seed: `SL_CHAOS_SEED=<seed>` replays the same requests and faults at the same moments."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import secrets
import signal
import threading
import time
from collections import Counter

import httpx
import psycopg
import pytest
from sqlalchemy import func, select

from cluster.postgres import libpq_url
from core.contracts import API_APP_NAME, GENERATION_APP_NAME
from db.engine import API_APPLICATION_NAME
from db.models import Generation, Transaction, User
from platform_api.tokens.audit import audit_database
from platform_api.tokens.ledger import WELCOME_BONUS_TOKENS
from tests.helpers import until
from tests.serving.ray_cluster import Cluster, signed_in, style_with_adapter

REQUESTS = int(os.environ.get("SL_CHAOS_REQUESTS", "40"))
USERS = int(os.environ.get("SL_CHAOS_USERS", "8"))
SEED = int(os.environ.get("SL_CHAOS_SEED", secrets.randbelow(2**32)))
# Faults land within this many seconds of the first request.
FAULT_WINDOW_SECONDS = 20
TRANSIENT = {408, 409, 429, 500, 502, 503, 504}


def _request_with_retries(client: httpx.Client, body: dict, key: str, deadline: float) -> int:
    """POST until the API answers for this key; a lost answer is replayed, never charged twice."""
    while time.monotonic() < deadline:
        try:
            response = client.post("/api/v1/generations", json=body, headers={"Idempotency-Key": key})
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code == 202:
            return response.json()["data"]["id"]
        assert response.status_code in TRANSIENT, response.text
        time.sleep(0.5)
    raise AssertionError(f"request {key} never got an answer")


def _kill_replica(cluster: Cluster, application: str, rng: random.Random) -> None:
    details = cluster.get("/api/serve/applications/")["applications"][application]["deployments"]
    pids = [replica["pid"] for deployment in details.values() for replica in deployment["replicas"]
            if replica["state"] == "RUNNING" and replica.get("pid")]
    if pids:
        with contextlib.suppress(ProcessLookupError):  # already gone: Serve's view lags a little
            os.kill(rng.choice(pids), signal.SIGKILL)


def _drop_connections(database_url: str) -> None:
    """Every connection the API holds, as when PostgreSQL fails over."""
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND application_name = %s", [API_APPLICATION_NAME])


def _faults(rng: random.Random) -> list[tuple[float, str]]:
    """When each fault strikes (seconds after the start) and what it is."""
    schedule = [(rng.uniform(1, FAULT_WINDOW_SECONDS), "generation replica") for _ in range(3)]
    schedule += [(rng.uniform(1, FAULT_WINDOW_SECONDS), "api replica"),
                 (rng.uniform(1, FAULT_WINDOW_SECONDS), "database connections")]
    return sorted(schedule)


def _inject(cluster: Cluster, database_url: str, schedule, rng: random.Random, started: float) -> None:
    actions = {
        "generation replica": lambda: _kill_replica(cluster, GENERATION_APP_NAME, rng),
        "api replica": lambda: _kill_replica(cluster, API_APP_NAME, rng),
        "database connections": lambda: _drop_connections(database_url),
    }
    for at, fault in schedule:
        time.sleep(max(0.0, started + at - time.monotonic()))
        actions[fault]()


@pytest.mark.timeout(3600)
def test_no_token_is_lost_or_charged_twice_through_replica_api_and_database_faults(
        ray_nodes, db, database_url, style_adapters, tmp_path):
    rng = random.Random(SEED)
    try:
        _run(ray_nodes, db, database_url, style_adapters, tmp_path, rng)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\nreplay with SL_CHAOS_SEED={SEED}") from failure


def _run(cluster: Cluster, db, database_url: str, style_adapters, tmp_path, rng: random.Random) -> None:
    style = style_with_adapter(db, tmp_path, style_adapters[1])
    clients = [signed_in(cluster, f"chaos{n}@example.com") for n in range(USERS)]
    plan = [(n % USERS, f"chaos-{SEED}-{n}", {"style_id": style.id, "prompt_tags": [f"scene {rng.randrange(100)}"]})
            for n in range(REQUESTS)]
    schedule = _faults(rng)

    started = time.monotonic()
    faults = threading.Thread(target=_inject, args=(cluster, database_url, schedule, rng, started), daemon=True)
    faults.start()
    deadline = started + 600
    ids: list[int] = [0] * REQUESTS

    def user(index: int) -> None:  # each user's requests one after another, on that user's own client
        for n, (owner, key, body) in enumerate(plan):
            if owner == index:
                ids[n] = _request_with_retries(clients[owner], body, key, deadline)

    threads = [threading.Thread(target=user, args=(i,)) for i in range(USERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    faults.join()
    assert len(set(ids)) == REQUESTS, "a request made more than one generation, or none"

    def finished() -> bool:
        return db.scalar(select(func.count()).where(Generation.id.in_(ids),
                                                    Generation.status.in_(["completed", "failed"]))) == REQUESTS

    # About a second of drawing per image on two cores, whatever the profile, plus the faults' retries.
    until(finished, 600 + 1.5 * REQUESTS, f"every generation to finish (faults: {schedule})", interval=2)
    completed = Counter(db.scalars(select(Generation.user_id).where(Generation.id.in_(ids),
                                                                    Generation.status == "completed")))
    errors = Counter(db.scalars(select(Generation.error_code).where(Generation.id.in_(ids),
                                                                   Generation.status == "failed")))
    assert sum(completed.values()) > 0, f"nothing completed; failures: {errors}"
    for user_id, balance in db.execute(select(User.id, User.token_balance).where(User.email.like("chaos%"))):
        assert balance == WELCOME_BONUS_TOKENS - completed[user_id] * style.generation_cost_tokens
    outcomes = Counter(db.scalars(select(Transaction.kind).where(Transaction.related_generation_id.in_(ids))))
    assert outcomes["generation_reserve"] == REQUESTS
    assert outcomes["generation_settle"] + outcomes["generation_refund"] == REQUESTS
    assert asyncio.run(audit_database(database_url)) == []
