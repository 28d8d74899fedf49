"""Rate limits of spec §6.11 (in memory and in Redis) and the security headers of §10.5."""

from __future__ import annotations

import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack

import httpx
import pytest
import redis
from fastapi.testclient import TestClient

from core.provenance_keys import CA_FILE, CHAIN_FILE, KEY_FILE, ensure_development_certificates
from core.settings import LimitSettings, ProvenanceSettings, Settings
from platform_api.app import create_app
from tests.helpers import assert_error, dev_login, production_settings, until
from tests.stubs.server import BackgroundServer

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_available() -> bool:
    try:
        return redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError:
        return False


@pytest.fixture(params=["memory", "redis"])
def limited_settings(request, settings: Settings) -> Settings:
    redis_url = None
    if request.param == "redis":
        if not _redis_available():
            pytest.skip("no Redis server on 127.0.0.1:6379")
        redis_url = REDIS_URL
    settings.limits = LimitSettings(
        enabled=True,
        redis_url=redis_url,
        key_prefix=f"sl-test-{secrets.token_hex(4)}",
        sign_in="3/5 minutes",
        authenticated="4/minute",
        anonymous="5/minute",
    )
    return settings


def _assert_429(response) -> None:
    error = assert_error(response, 429, "RATE_LIMITED")
    retry_after = int(response.headers["retry-after"])
    assert 1 <= retry_after <= 300
    assert error["details"]["retry_after"] == retry_after


def test_sign_in_attempts_are_limited_per_ip(limited_settings, clean_database):
    with TestClient(create_app(limited_settings)) as client:
        for n in range(3):
            assert client.post("/api/v1/auth/dev-login", json={"email": f"u{n}@example.com"}).status_code == 200
            client.cookies.clear()
        _assert_429(client.post("/api/v1/auth/dev-login", json={"email": "u9@example.com"}))


def test_anonymous_requests_are_limited_per_ip(limited_settings, clean_database):
    with TestClient(create_app(limited_settings)) as client:
        for _ in range(5):
            assert client.get("/api/v1/users/999").status_code == 404
        _assert_429(client.get("/api/v1/users/999"))
        assert client.get("/healthz").status_code == 200  # probes are not product API calls


def test_a_burst_across_a_clock_window_boundary_is_still_limited(limited_settings, clean_database):
    """The window slides with each request: the budget spent just before the clock's 4-second boundary still
    counts just after it (a per-window counter forgot most of it there, and let the third request through).
    The three requests fit in the 4 s window unless the machine stalls for over 2 s."""
    limited_settings.limits.anonymous = "2/4 seconds"
    with TestClient(create_app(limited_settings)) as client:
        until(lambda: time.time() % 4 >= 3.5, 5, "the last half second of a 4-second window", interval=0.01)
        burst = [client.get("/api/v1/users/999").status_code for _ in range(2)]
        until(lambda: time.time() % 4 < 1.5, 5, "the next window", interval=0.01)
        assert burst + [client.get("/api/v1/users/999").status_code] == [404, 404, 429]


def test_visitors_behind_a_trusted_balancer_are_limited_by_their_own_address(limited_settings, clean_database):
    """Behind a load balancer every request comes from its address; its X-Forwarded-For names the visitor, and
    only a balancer in SL_TRUSTED_PROXIES is believed (a visitor's own header is not)."""
    limited_settings.app.trusted_proxies = "10.0.0.0/8"
    app = create_app(limited_settings)

    def visit(client: TestClient, visitor: str) -> int:
        return client.get("/api/v1/users/999", headers={"X-Forwarded-For": visitor}).status_code

    with TestClient(app, client=("10.1.2.3", 40000)) as balancer:
        assert [visit(balancer, "203.0.113.7") for _ in range(6)] == [404] * 5 + [429]
        assert visit(balancer, "198.51.100.9") == 404  # another visitor, their own budget
        # A chain: the visitor, then a balancer in front of this one; the first address not trusted counts.
        assert visit(balancer, "198.51.100.9, 10.9.9.9") == 404
    with TestClient(app, client=("192.0.2.50", 40000)) as visitor:  # not a balancer: its header is ignored
        assert [visit(visitor, f"203.0.113.{n}") for n in range(6)] == [404] * 5 + [429]


def test_limits_hold_under_parallel_clients(limited_settings, clean_database):
    """40 requests from 16 clients at once: exactly the budget passes. With Redis the budget is shared by
    two API processes, as in production; in memory it is one process's own."""
    limited_settings.limits.anonymous = "12/day"
    processes = 2 if limited_settings.limits.redis_url else 1
    with ExitStack() as stack:
        urls = [stack.enter_context(BackgroundServer(create_app(limited_settings), lifespan=True)).url
                for _ in range(processes)]
        with ThreadPoolExecutor(16) as pool:
            statuses = list(pool.map(lambda n: httpx.get(f"{urls[n % processes]}/api/v1/users/999").status_code,
                                     range(40)))
    assert (statuses.count(404), statuses.count(429)) == (12, 28)


def test_authenticated_requests_are_limited_per_user(limited_settings, clean_database):
    with TestClient(create_app(limited_settings)) as client:
        dev_login(client, "light@example.com")  # sign-ins use the anonymous budget
        light = dict(client.cookies)
        client.cookies.clear()
        dev_login(client, "heavy@example.com")
        for _ in range(4):
            assert client.get("/api/v1/auth/me").status_code == 200
        _assert_429(client.get("/api/v1/auth/me"))
        client.cookies.clear()
        client.cookies.update(light)
        assert client.get("/api/v1/auth/me").json()["data"]["email"] == "light@example.com"


def test_security_headers_on_every_response(client):
    for path in ("/healthz", "/api/v1/nothing"):
        headers = client.get(path).headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "strict-origin-when-cross-origin"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self';" in headers["content-security-policy"]
        assert "strict-transport-security" not in headers
    assert "cdn.jsdelivr.net" in client.get("/docs").headers["content-security-policy"]


def test_production_adds_hsts_and_secure_cookies(database_url, tmp_path):
    certificates = ensure_development_certificates(tmp_path / "c2pa")  # real files where production reads them
    provenance = ProvenanceSettings(
        c2pa_certificate_chain_path=certificates / CHAIN_FILE,
        c2pa_private_key_path=certificates / KEY_FILE,
        c2pa_trust_anchors_path=certificates / CA_FILE,
        watermark_key="w" * 48,
    )
    with TestClient(create_app(production_settings(database_url, provenance=provenance)), base_url="https://testserver") as client:
        assert client.get("/healthz").headers["strict-transport-security"].startswith("max-age=")
        response = client.get("/api/v1/auth/csrf")
        assert "Secure" in response.headers["set-cookie"]
        assert_error(client.post("/api/v1/auth/dev-login", json={"email": "a@example.com"}), 404, "NOT_FOUND")
