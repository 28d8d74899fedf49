"""When the SDK tries again: the retry policy on the API's answers, and a server that does not answer."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from stylelicense import RetryPolicy, StyleLicense
from stylelicense.retry import retry_after_seconds, retry_reason
from tests.stubs.server import free_port


def _response(status: int, headers: dict | None = None, json: dict | None = None) -> httpx.Response:
    return httpx.Response(status, headers=headers, json=json)


def test_what_is_retried_and_how_long_to_wait():
    assert retry_reason(_response(429)) == "rate limited"
    assert retry_reason(_response(503)) == "server error 503"
    in_use = {"error": {"code": "CONFLICT", "details": {"reason": "idempotency_key_in_use"}}}
    assert retry_reason(_response(409, json=in_use)) is not None
    assert retry_reason(_response(409, json={"error": {"code": "CONFLICT", "details": {}}})) is None
    assert retry_reason(_response(422)) is None
    assert retry_after_seconds(_response(429, {"Retry-After": "7"})) == 7
    assert 0 <= retry_after_seconds(_response(503, {"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0
    assert retry_after_seconds(_response(503, {"Retry-After": "soon"})) is None


def test_an_unreachable_server_is_retried_then_reported():
    notices = []

    async def balance():
        retry = RetryPolicy(max_attempts=3, backoff_seconds=0.05)
        async with StyleLicense("slk_x_y", f"http://127.0.0.1:{free_port()}", retry=retry,
                                on_retry=notices.append) as client:
            return await client.balance()

    with pytest.raises(httpx.ConnectError):
        asyncio.run(balance())
    assert [notice.attempt for notice in notices] == [1, 2]
