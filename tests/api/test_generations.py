"""Generation requests and every state transition against PostgreSQL (the Serve side runs in
tests/serving/ and end to end in tests/serving/test_generation_e2e.py)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from core.contracts import GenerationProgress, GenerationResult
from db.models import Artist, Generation, Notification, Style, Transaction, User
from platform_api.app import RECONCILERS
from platform_api.background import run_once
from platform_api.generations import transitions
from platform_api.tokens.audit import audit_database
from platform_api.tokens import ledger
from tests.factories import make_style, make_user
from tests.helpers import assert_error, csrf_headers, dev_login, in_transaction, spend_tokens, until


@pytest.fixture
def style(db):
    style = make_style(db, title="Ink Wash", training_status="completed", generation_cost_tokens=30,
                       adapter_key="private/styles/1/runs/1/pytorch_lora_weights.safetensors")
    db.commit()
    return style


def _request(client, style_id, key=None, **body):
    payload = {"style_id": style_id, "prompt_tags": ["cat", "moon"], "aspect_ratio": "1:2"} | body
    headers = csrf_headers(client) | ({"Idempotency-Key": key} if key else {})
    return client.post("/api/v1/generations", json=payload, headers=headers)


def test_a_request_charges_and_queues(client, style, db, database_url):
    dev_login(client, "fan@example.com")
    response = _request(client, style.id, description="<b>Moonlit</b> cat")
    assert response.status_code == 202, response.text
    generation = response.json()["data"]
    assert (generation["status"], generation["width"], generation["height"]) == ("queued", 512, 1024)
    assert generation["description"] == "Moonlit cat" and generation["cost_tokens"] == 30
    assert generation["queue"] == {"position": 1, "estimated_seconds": 10} and generation["progress"] is None
    assert generation["is_public"] is False and 0 <= generation["seed"] < 2**32
    assert db.scalars(select(Generation.prompt)).one() == "ink wash, cat, moon"
    # What draws it, even if the artist chooses another epoch before it is drawn or while it is retried.
    assert db.scalars(select(Generation.adapter_key)).one() == style.adapter_key
    assert client.get("/api/v1/tokens/balance").json()["data"]["token_balance"] == 70
    assert asyncio.run(audit_database(database_url)) == []


def test_the_job_carries_the_request_id_to_the_replica(client, style):
    jobs = []

    class Recording:
        async def stream(self, job):
            jobs.append(job)
            yield {"kind": "progress", "current_step": 0, "total_steps": 1}
            raise ConnectionError("enough")  # the attempt ends retrying; the job is what this test reads

    client.app.state.generations = Recording()
    dev_login(client, "fan@example.com")
    response = client.post("/api/v1/generations", json={"style_id": style.id, "prompt_tags": ["cat"]},
                           headers=csrf_headers(client) | {"X-Request-ID": "req-generate-0001"})
    assert response.status_code == 202, response.text
    until(lambda: jobs, 10, "the job sent", interval=0.05)
    assert [(job.request_id, job.adapter_key) for job in jobs] == [("req-generate-0001", style.adapter_key)]


class _Queued:
    """A Serve call that waits in the queue (no progress) until released, then fails; records whether it was
    given up (cancelled)."""

    def __init__(self):
        self.release, self.cancelled = asyncio.Event(), False

    async def stream(self, job):
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise ConnectionError("released")
        yield  # an async generator, as the Serve stream is


def test_a_request_waiting_in_serves_queue_keeps_its_lease(client, style, settings, db):
    """No progress comes while a request waits for a replica; its dispatcher is alive, so the lease holds and
    the reconciler does not take the work over (it would be drawn twice). Once another attempt holds the
    generation, the waiting call is given up."""
    # Renewed every 0.5 s: a renewal may come a whole second late on a loaded machine before the lease lapses.
    settings.generation.lease_seconds = 1.5
    queued = _Queued()
    client.app.state.generations = queued
    dev_login(client, "fan@example.com")
    generation_id = _request(client, style.id).json()["data"]["id"]

    def row() -> Generation:
        db.expire_all()
        return db.get(Generation, generation_id)

    until(lambda: row().status == "processing", 10, "the generation dispatched", interval=0.05)
    leases = set()

    def renewed_for_two_lease_periods() -> bool:  # no progress meanwhile
        leases.add(row().lease_expires_at)
        return len(leases) > 6

    until(renewed_for_two_lease_periods, 30, "the lease renewed six times", interval=0.05)
    reconciler = next(r for r in RECONCILERS if r.name == "generations")
    assert client.portal.call(run_once, client.app, reconciler) == 0  # nothing to take over: the lease holds
    held = row()
    assert (held.status, held.attempts) == ("processing", 1)

    db.execute(update(Generation).where(Generation.id == generation_id).values(attempts=2))  # taken over
    db.commit()
    until(lambda: queued.cancelled, 10, "the waiting call given up", interval=0.05)
    assert (row().status, row().attempts) == ("processing", 2)  # the stale attempt's failure changed nothing


def test_the_same_idempotency_key_charges_once(client, style, db):
    dev_login(client, "fan@example.com")
    first = _request(client, style.id, key="gen-1", seed=7)
    again = _request(client, style.id, key="gen-1", seed=7)
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    assert_error(_request(client, style.id, key="gen-1", seed=8), 422, "IDEMPOTENCY_KEY_REUSED")
    assert len(db.scalars(select(Generation)).all()) == 1
    assert client.get("/api/v1/tokens/balance").json()["data"]["token_balance"] == 70


@pytest.mark.parametrize(
    "body",
    [{"prompt_tags": []}, {"prompt_tags": ["고양이"]}, {"prompt_tags": ["<script></script>"]},
     {"aspect_ratio": "16:9"}, {"seed": -1}, {"description": "x" * 501}, {"steps": 150}],
)
def test_bad_requests_change_nothing(client, style, db, body):
    dev_login(client, "fan@example.com")
    assert_error(_request(client, style.id, **body), 422, "VALIDATION_ERROR")
    assert db.scalars(select(Generation)).all() == []
    assert client.get("/api/v1/tokens/balance").json()["data"]["token_balance"] == 100


def test_not_enough_tokens_is_402_with_the_numbers(client, db):
    expensive = make_style(db, training_status="completed", generation_cost_tokens=500, adapter_key="private/x")
    db.commit()
    dev_login(client, "fan@example.com")
    error = assert_error(_request(client, expensive.id), 402, "INSUFFICIENT_TOKENS")
    assert error["details"] == {"required": 500, "available": 100}
    assert db.scalars(select(Generation)).all() == []


def test_a_style_still_training_is_not_ready(client, db):
    training = make_style(db, training_status="training")
    db.commit()
    dev_login(client, "fan@example.com")
    assert_error(_request(client, training.id), 422, "STYLE_NOT_READY")
    assert_error(_request(client, 999_999), 404, "NOT_FOUND")


def test_six_requests_a_minute(client, style, settings):
    settings.limits.enabled = True
    dev_login(client, "rich@example.com")
    client.app.state.rate_limiter.enabled = True
    cheap = [_request(client, style.id, prompt_tags=[f"cat {n}"]) for n in range(7)]
    assert [r.status_code for r in cheap[:3]] == [202, 202, 202]
    assert_error(cheap[6], 429, "RATE_LIMITED")


def test_private_until_shared_and_only_the_owner_shares(client, style, db):
    owner = dev_login(client, "fan@example.com")
    generation_id = _request(client, style.id).json()["data"]["id"]
    assert_error(client.patch(f"/api/v1/generations/{generation_id}", json={"is_public": True},
                              headers=csrf_headers(client)), 409, "CONFLICT")  # not completed yet
    db.execute(update(Generation).values(status="completed", result_key="public/generations/1/x.png"))
    db.commit()
    shared = client.patch(f"/api/v1/generations/{generation_id}", json={"is_public": True, "description": "Mine"},
                          headers=csrf_headers(client)).json()["data"]
    assert shared["is_public"] and shared["description"] == "Mine"
    assert [g["id"] for g in client.get("/api/v1/generations/me").json()["data"]["results"]] == [generation_id]

    client.cookies.clear()
    dev_login(client, "other@example.com")
    assert client.get(f"/api/v1/generations/{generation_id}").json()["data"]["user_id"] == owner["id"]
    assert_error(client.patch(f"/api/v1/generations/{generation_id}", json={"is_public": False},
                              headers=csrf_headers(client)), 404, "NOT_FOUND")
    db.execute(update(Generation).values(is_public=False))
    db.commit()
    assert_error(client.get(f"/api/v1/generations/{generation_id}"), 404, "NOT_FOUND")
    assert_error(client.get(f"/api/v1/generations/{generation_id}/download"), 404, "NOT_FOUND")


# Transitions, straight against the database.

@pytest.fixture
def queued(db, database_url) -> int:
    """A charged, queued generation made without the API (whose request would dispatch it at once)."""
    user = make_user(db)
    db.commit()
    in_transaction(database_url, lambda s: ledger.grant_welcome_bonus(s, user.id))
    generation_id = spend_tokens(db, database_url, user.id, 30)
    db.execute(update(Generation).values(next_attempt_at=datetime.now(UTC)))
    db.commit()
    return generation_id


RESULT = GenerationResult(image_key="public/generations/1/a.png", thumbnail_key="public/generations/1/a.webp",
                          width=512, height=1024, timings={})


def test_a_completed_generation_pays_the_artist_and_tells_the_user(queued, settings, database_url, db):
    claimed = in_transaction(database_url, lambda s: transitions.claim(s, queued, settings))
    assert claimed.attempts == 1 and claimed.status == "processing"
    assert in_transaction(database_url, lambda s: transitions.claim(s, queued, settings)) is None  # held already
    started = datetime.now(UTC) - timedelta(seconds=2)
    assert in_transaction(database_url, lambda s: transitions.record_progress(
        s, queued, 1, GenerationProgress(current_step=5, total_steps=20), started))
    assert in_transaction(database_url, lambda s: transitions.complete(s, queued, 1, RESULT, settings))
    assert not in_transaction(database_url, lambda s: transitions.complete(s, queued, 1, RESULT, settings))

    db.expire_all()
    assert db.scalars(select(Artist.earned_token_balance)).one() == 30
    assert db.scalars(select(Style.generation_count)).one() == 1
    assert db.scalars(select(Notification.type)).all() == ["generation_complete"]
    assert asyncio.run(audit_database(database_url)) == []


def test_progress_is_shown_only_while_processing(client, queued, settings, database_url, db):
    in_transaction(database_url, lambda s: transitions.claim(s, queued, settings))
    in_transaction(database_url, lambda s: transitions.record_progress(
        s, queued, 1, GenerationProgress(current_step=10, total_steps=20), datetime.now(UTC) - timedelta(seconds=4)))
    owner = db.scalars(select(User.email).where(User.id == db.get(Generation, queued).user_id)).one()
    dev_login(client, owner)
    progress = client.get(f"/api/v1/generations/{queued}").json()["data"]["progress"]
    assert (progress["current_step"], progress["total_steps"], progress["progress_percent"]) == (10, 20, 50)
    assert 3 <= progress["estimated_seconds"] <= 5 and progress["last_updated"]


def test_retryable_failures_retry_then_refund(queued, settings, database_url, db):
    settings.generation.retry_delays_seconds = [0.0, 0.0, 0.0]
    for attempt in (1, 2, 3):
        assert in_transaction(database_url, lambda s: transitions.claim(s, queued, settings)).attempts == attempt
        status = in_transaction(database_url, lambda s: transitions.fail_attempt(
            s, queued, attempt, code="ActorDiedError", message="replica died", retryable=True, settings=settings))
        assert status == ("retrying" if attempt < 3 else "failed")
    db.expire_all()
    assert db.get(User, db.get(Generation, queued).user_id).token_balance == 100  # charged once, refunded in full
    kinds = db.scalars(select(Transaction.kind).order_by(Transaction.id)).all()
    assert kinds == ["welcome_bonus", "generation_reserve", "generation_refund"]
    assert db.scalars(select(Notification.type)).all() == ["generation_failed"]
    assert asyncio.run(audit_database(database_url)) == []


def test_a_rejected_generation_fails_at_once(queued, settings, database_url, db):
    in_transaction(database_url, lambda s: transitions.claim(s, queued, settings))
    assert in_transaction(database_url, lambda s: transitions.fail_attempt(
        s, queued, 1, code="GENERATION_REJECTED", message="adapter missing", retryable=False,
        settings=settings)) == "failed"
    db.expire_all()
    assert db.get(User, db.get(Generation, queued).user_id).token_balance == 100


def test_a_late_outcome_of_an_old_attempt_changes_nothing(queued, settings, database_url, db):
    settings.generation.retry_delays_seconds = [0.0, 0.0, 0.0]
    in_transaction(database_url, lambda s: transitions.claim(s, queued, settings))
    in_transaction(database_url, lambda s: transitions.fail_attempt(s, queued, 1, code="x", message="x", retryable=True,
                                                          settings=settings))
    in_transaction(database_url, lambda s: transitions.claim(s, queued, settings))  # attempt 2 runs
    assert not in_transaction(database_url, lambda s: transitions.complete(s, queued, 1, RESULT, settings))
    assert in_transaction(database_url, lambda s: transitions.fail_attempt(s, queued, 1, code="x", message="x", retryable=True,
                                                                 settings=settings)) is None
    assert db.scalars(select(Generation.status)).one() == "processing"
