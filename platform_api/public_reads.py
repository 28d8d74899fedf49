"""Anonymous reads of public lists (the feed, the style list, search) served from a short-lived copy of their
JSON in this replica.

Most browsing is anonymous, and every anonymous reader of `/feed?limit=20` gets the same page, so a replica
renders each page once per `public_read_cache_seconds` (1 s by default) instead of once per request, and
concurrent misses for one page wait for the one render in flight. Signed-in readers are never served from it:
their pages carry their own likes and follows. Whatever changes a public list (a new image, one made private,
a flagged tag) reaches anonymous readers within that time. 0 turns it off.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import Request, Response
from pydantic import BaseModel

from db.models import User

# Search text makes the keys unbounded; beyond this many pages the oldest are dropped.
MAX_PAGES = 1024


@dataclass
class _Entry:
    expires: float
    # The page's JSON, or None when its render failed (each waiting reader then renders its own).
    body: asyncio.Future[bytes | None]


class PublicReadCache:
    def __init__(self, seconds: float, max_pages: int = MAX_PAGES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._max_pages = max_pages
        self._clock = clock  # tests move time on by hand instead of sleeping through it
        self._entries: dict[str, _Entry] = {}

    async def json(self, key: str, render: Callable[[], Awaitable[BaseModel]]) -> bytes:
        entry = self._entries.get(key)
        if entry is not None and entry.expires > self._clock():
            # shield: a reader that goes away must not cancel the render others wait for.
            body = await asyncio.shield(entry.body)
            if body is not None:
                return body
        entry = _Entry(self._clock() + self.seconds, asyncio.get_running_loop().create_future())
        self._entries.pop(key, None)  # re-inserted last: the dict's order is the eviction order
        self._entries[key] = entry
        while len(self._entries) > self._max_pages:
            del self._entries[next(iter(self._entries))]
        try:
            body = (await render()).model_dump_json().encode()
        except BaseException:
            if self._entries.get(key) is entry:
                del self._entries[key]
            entry.body.set_result(None)
            raise
        entry.body.set_result(body)
        return body


def _page_key(request: Request) -> str:
    # Parameter order does not change the page.
    return request.url.path + "?" + "&".join(f"{k}={v}" for k, v in sorted(request.query_params.multi_items()))


async def public_read(request: Request, viewer: User | None, render: Callable[[], Awaitable[BaseModel]]
                      ) -> BaseModel | Response:
    """The rendered envelope for a signed-in viewer; the page's shared JSON for an anonymous one."""
    cache: PublicReadCache = request.app.state.public_reads
    if viewer is not None or cache.seconds <= 0:
        return await render()
    return Response(await cache.json(_page_key(request), render), media_type="application/json")
