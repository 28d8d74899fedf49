"""Prometheus metrics at /metrics (token only), latency by route template, business counters and state gauges
read from PostgreSQL with a short cache; and Sentry error reports by DSN."""

from __future__ import annotations

import gzip
import json
import threading
from datetime import UTC, datetime

import pytest
import sentry_sdk
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from core.settings import ObservabilitySettings
from db.models import Generation, TrainingRun
from platform_api.app import create_app
from platform_api.generations import transitions
from platform_api.tokens import ledger
from tests.factories import make_style, make_user
from tests.helpers import assert_error, dev_login, in_transaction, spend_tokens
from tests.stubs.server import BackgroundServer

TOKEN = "metrics-token-" + "m" * 24


@pytest.fixture
def scraper(settings, clean_database):
    settings.observability = ObservabilitySettings(metrics_token=TOKEN, metrics_state_cache_seconds=0)
    with TestClient(create_app(settings)) as client:
        yield client


def scrape(client) -> dict[tuple[str, frozenset], float]:
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_off_without_a_token(client):
    assert_error(client.get("/metrics"), 404, "NOT_FOUND")


def test_only_for_the_token_holder(scraper):
    assert_error(scraper.get("/metrics"), 401, "UNAUTHORIZED")
    assert_error(scraper.get("/metrics", headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED")
    assert scrape(scraper)


def test_latency_is_labelled_by_route_template_not_path(scraper):
    for generation_id in (123, 456):
        scraper.get(f"/api/v1/generations/{generation_id}")
    scraper.get("/admin/")
    scraper.get("/api/v1/no-such-thing/42")
    scraper.get("/admin/statics/css/main.css")
    samples = scrape(scraper)
    count = "sl_http_request_duration_seconds_count"
    assert value(samples, count, route="/api/v1/generations/{generation_id}", method="GET", status="404") >= 2
    assert value(samples, count, route="/admin/", method="GET", status="302") >= 1
    assert value(samples, count, route="/admin/statics/{path}", method="GET", status="200") >= 1
    assert value(samples, count, route="<unmatched>", method="GET", status="404") >= 1
    routes = {dict(labels).get("route") for name, labels in samples if name == count}
    assert not any(route and ("123" in route or "42" in route) for route in routes)


def test_tokens_and_finished_generations_are_counted_from_what_committed_alike_by_every_replica(
        scraper, db, database_url, settings):
    user = dev_login(scraper, "fan@example.com")
    generation_id = spend_tokens(db, database_url, user["id"], 30)
    db.execute(update(Generation).values(next_attempt_at=datetime.now(UTC)))
    db.commit()

    async def rolled_back(session):
        await ledger.refund_generation(session, generation_id=generation_id)
        await session.rollback()

    in_transaction(database_url, rolled_back)
    assert value(scrape(scraper), "sl_ledger_tokens_total", kind="generation_refund") == 0
    in_transaction(database_url, lambda s: transitions.claim(s, generation_id, settings))
    in_transaction(database_url, lambda s: transitions.fail_attempt(s, generation_id, 1, code="x", message="x",
                                                          retryable=False, settings=settings))
    # Another replica behind Serve's proxy (its own process state) reports the same totals.
    with TestClient(create_app(settings)) as other_replica:
        for samples in (scrape(scraper), scrape(other_replica)):
            assert value(samples, "sl_ledger_tokens_total", kind="welcome_bonus") == 100
            assert value(samples, "sl_ledger_tokens_total", kind="generation_reserve") == 30
            assert value(samples, "sl_ledger_tokens_total", kind="generation_refund") == 30
            assert value(samples, "sl_generations_finished_total", status="failed") == 1
            assert value(samples, "sl_generations_finished_total", status="completed") == 0


def test_state_gauges_come_from_the_database(scraper, db, database_url, settings):
    user = make_user(db)
    db.commit()
    in_transaction(database_url, lambda s: ledger.grant_welcome_bonus(s, user.id))
    for _ in range(3):
        spend_tokens(db, database_url, user.id, 10)
    style = make_style(db)
    db.add_all([TrainingRun(style_id=style.id, status=status, submission_id=f"run-{n}")
                for n, status in enumerate(["running", "running", "failed"])])
    db.execute(update(Generation).where(Generation.id == db.query(Generation.id).limit(1).scalar_subquery())
               .values(status="processing"))
    db.commit()
    samples = scrape(scraper)
    assert value(samples, "sl_generations_in_flight", status="queued") == 2
    assert value(samples, "sl_generations_in_flight", status="processing") == 1
    assert value(samples, "sl_generation_queue_depth") == 2
    assert value(samples, "sl_training_runs", status="running") == 2
    assert value(samples, "sl_training_runs", status="failed") == 1
    assert value(samples, "sl_training_runs", status="succeeded") == 0


def test_the_state_is_read_at_most_once_per_interval(scraper, db):
    scraper.app.state.platform_state.cache_seconds = 3600
    scrape(scraper)
    db.add(TrainingRun(style_id=make_style(db).id, status="pending", submission_id="run-late"))
    db.commit()
    assert value(scrape(scraper), "sl_training_runs", status="pending") == 0


class SentryStub:
    """Sentry's envelope endpoint on a free port: keeps what the SDK sends."""

    def __init__(self):
        self.events: list[dict] = []
        self.received = threading.Event()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if dict(scope["headers"]).get(b"content-encoding") == b"gzip":
            body = gzip.decompress(body)
        for line in body.splitlines():
            item = json.loads(line)
            if "exception" in item:
                self.events.append(item)
                self.received.set()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


@pytest.fixture
def sentry_stub():
    stub = SentryStub()
    with BackgroundServer(stub) as server:
        yield stub, f"http://public@127.0.0.1:{server.port}/1"
    sentry_sdk.get_client().close()
    sentry_sdk.init(dsn="")  # reporting off again for the tests that follow


def test_unexpected_errors_go_to_sentry_with_the_request_id(settings, clean_database, sentry_stub):
    stub, dsn = sentry_stub
    settings.observability = ObservabilitySettings(sentry_dsn=dsn)
    app = create_app(settings)

    @app.get("/api/v1/broken-on-purpose")
    async def broken():
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/api/v1/broken-on-purpose", headers={"X-Request-ID": "req-sentry-1"})
    assert_error(response, 500, "INTERNAL_ERROR")
    sentry_sdk.flush(timeout=5)
    assert stub.received.wait(5)
    [event] = stub.events[:1]
    assert event["tags"]["request_id"] == "req-sentry-1"
    assert event["exception"]["values"][-1]["value"] == "a bug"


def test_no_reports_without_a_dsn(client):
    assert sentry_sdk.get_client().transport is None
