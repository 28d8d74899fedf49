"""`StyleLicense`: an async client of the Style License API for batch scripts, authenticated by API key.

Every method returns the `data` of the API's envelope as plain JSON (dicts and lists), so the API's
reference (`/docs` on a running server) describes what comes back. Errors raise `ApiError` with the
API's code, details and request id. Lists page through `next_cursor` for you.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx

from stylelicense.errors import ApiError
from stylelicense.retry import RetryNotice, RetryPolicy, backoff_seconds, retry_after_seconds, retry_reason

DEFAULT_BASE_URL = "http://localhost:8000"
API_PREFIX = "/api/v1"
FINISHED = ("completed", "failed")
PAGE_SIZE = 100  # the API's largest page


class StyleLicense:
    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, retry: RetryPolicy | None = None,
                 on_retry: Callable[[RetryNotice], None] | None = None, timeout_seconds: float = 60.0):
        if not api_key:
            raise ValueError("an API key is required (POST /api/v1/auth/api-keys from a signed-in session)")
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/") + API_PREFIX,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": "stylelicense-python"},
            timeout=timeout_seconds,
        )

    async def __aenter__(self) -> StyleLicense:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # Styles

    def styles(self, *, sort: str = "recent", tag: str | None = None, limit: int | None = None
               ) -> AsyncIterator[dict]:
        """Trained styles, `recent` or `popular` first, optionally with one tag."""
        return self._pages("/styles", {"sort": sort, "tag": tag}, limit)

    def search_styles(self, query: str, *, limit: int | None = None) -> AsyncIterator[dict]:
        """Styles whose name or tags match `query`; each says what it `matched_by`."""
        return self._pages("/search", {"q": query, "type": "styles"}, limit, page_of="styles")

    async def style(self, style_id: int) -> dict:
        return await self._data("GET", f"/styles/{style_id}")

    # Generations

    async def request_generation(self, style_id: int, prompt_tags: list[str], *, idempotency_key: str,
                                 aspect_ratio: str | None = None, seed: int | None = None,
                                 description: str | None = None) -> dict:
        """Charge the style's price and queue one image. The same `idempotency_key` with the same request
        returns the first generation instead of charging again, for 24 hours."""
        body = {"style_id": style_id, "prompt_tags": prompt_tags, "aspect_ratio": aspect_ratio, "seed": seed,
                "description": description}
        return await self._data("POST", "/generations", json={k: v for k, v in body.items() if v is not None},
                                headers={"Idempotency-Key": idempotency_key})

    async def generation(self, generation_id: int) -> dict:
        return await self._data("GET", f"/generations/{generation_id}")

    async def wait_for_generation(self, generation_id: int, *, poll_seconds: float = 2.0,
                                  timeout_seconds: float = 1800.0,
                                  on_update: Callable[[dict], None] | None = None) -> dict:
        """Poll until the generation is completed or failed; `on_update` sees every state polled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        while True:
            generation = await self.generation(generation_id)
            if on_update:
                on_update(generation)
            if generation["status"] in FINISHED:
                return generation
            if loop.time() >= deadline:
                raise TimeoutError(f"generation {generation_id} is still {generation['status']}")
            await asyncio.sleep(next_poll_seconds(generation, poll_seconds))

    async def download(self, generation_id: int) -> bytes:
        """The signed image's bytes (the only version of it there is)."""
        return (await self._send("GET", f"/generations/{generation_id}/download")).content

    async def verify(self, image: bytes, filename: str = "image.png") -> dict:
        """Where an image comes from: its content credentials, watermark and metadata, and the artist, style
        and generation they prove."""
        files = {"image": (filename, image, "application/octet-stream")}
        return await self._data("POST", "/verify", files=files)

    # Tokens

    async def balance(self) -> dict:
        return await self._data("GET", "/tokens/balance")

    def transactions(self, *, type: str = "all", limit: int | None = None) -> AsyncIterator[dict]:
        """My ledger, newest first: `all`, `purchase`, `usage` or `earnings`."""
        return self._pages("/tokens/transactions", {"type": type}, limit)

    # Transport

    async def _pages(self, path: str, params: dict[str, Any], limit: int | None,
                     page_of: str | None = None) -> AsyncIterator[dict]:
        wanted = float("inf") if limit is None else limit
        yielded, cursor = 0, None
        while yielded < wanted:
            query = {k: v for k, v in params.items() if v is not None}
            query |= {"limit": int(min(PAGE_SIZE, wanted - yielded))} | ({"cursor": cursor} if cursor else {})
            page = await self._data("GET", path, params=query)
            page = page[page_of] if page_of else page
            for item in page["results"][: int(min(len(page["results"]), wanted - yielded))]:
                yielded += 1
                yield item
            if not page["has_more"]:
                return
            cursor = page["next_cursor"]

    async def _data(self, method: str, path: str, **kwargs) -> Any:
        return (await self._send(method, path, **kwargs)).json()["data"]

    async def _send(self, method: str, path: str, **kwargs) -> httpx.Response:
        for attempt in range(1, self.retry.max_attempts + 1):
            try:
                response = await self._http.request(method, path, **kwargs)
            except httpx.TransportError as error:  # connection refused or reset, timeouts
                if attempt == self.retry.max_attempts:
                    raise
                await self._wait(method, path, attempt, backoff_seconds(self.retry, attempt), repr(error))
                continue
            reason = retry_reason(response)
            if reason is None or attempt == self.retry.max_attempts:
                break
            delay = retry_after_seconds(response)
            if delay is not None and delay > self.retry.max_retry_after_seconds:
                break
            if delay is None:
                delay = backoff_seconds(self.retry, attempt)
            await self._wait(method, path, attempt, delay, reason)
        if response.is_error:
            raise api_error(response)
        return response

    async def _wait(self, method: str, path: str, attempt: int, delay: float, reason: str) -> None:
        if self.on_retry:
            self.on_retry(RetryNotice(method, path, attempt, delay, reason))
        await asyncio.sleep(delay)


def next_poll_seconds(generation: dict, base: float) -> float:
    """Poll sooner when the API expects the image soon, later when it waits in a long queue: each poll
    counts against the caller's request budget."""
    estimate = (generation.get("progress") or generation.get("queue") or {}).get("estimated_seconds")
    if not estimate:
        return base
    return min(max(base, estimate / 2), 15 * base)


def api_error(response: httpx.Response) -> ApiError:
    try:
        error = response.json()["error"]
        return ApiError(response.status_code, error["code"], error["message"], error.get("details"),
                        error.get("request_id"))
    except (ValueError, KeyError, TypeError):  # not our envelope: a proxy or load balancer answered
        return ApiError(response.status_code, "HTTP_ERROR", response.text[:200] or response.reason_phrase,
                        request_id=response.headers.get("x-request-id"))
