"""Anonymous pages of the public lists come from a short-lived copy of their JSON; signed-in readers always
get a fresh page (platform_api/public_reads.py)."""

from __future__ import annotations

import asyncio

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel

from db.models import Generation, Style
from platform_api.app import create_app
from platform_api.public_reads import PublicReadCache
from tests.factories import make_artist, make_generation, make_style, make_user
from tests.helpers import another_client, assert_error

TTL_SECONDS = 1.0
PUBLIC_LISTS = ["/api/v1/feed?limit=5", "/api/v1/styles?limit=5&sort=popular", "/api/v1/search?q=garden"]


class ManualClock:
    """The cache's clock, moved on by the test: a slow machine cannot age a page past its TTL."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cached_client(settings, clean_database, clock):
    app = create_app(settings)
    app.state.public_reads = PublicReadCache(TTL_SECONDS, clock=clock)
    with TestClient(app) as client:
        yield client


@pytest.fixture
def garden(db) -> Generation:
    artist = make_artist(db, user=make_user(db, username="garden_artist"), artist_name="Garden Artist")
    style = make_style(db, artist=artist, title="Garden Light", training_status="completed")
    image = make_generation(db, style=style, description="Roses")
    db.commit()
    return image


def _feed_ids(client: TestClient) -> list[int]:
    response = client.get("/api/v1/feed")
    assert response.status_code == 200, response.text
    return [card["id"] for card in response.json()["data"]["results"]]


def test_the_cached_page_is_the_page_the_api_renders(client, cached_client, garden):
    for path in PUBLIC_LISTS:
        fresh = client.get(path)
        assert fresh.status_code == 200, fresh.text
        assert fresh.json()["data"], path
        for _ in range(2):  # the miss that renders it, then the hit
            cached = cached_client.get(path)
            assert cached.status_code == 200
            assert cached.json() == fresh.json(), path
            assert cached.headers["content-type"] == "application/json"


def test_anonymous_readers_see_a_change_within_the_ttl_and_signed_in_readers_at_once(cached_client, clock, db,
                                                                                      garden):
    reader, _ = another_client(cached_client, "reader@example.com")
    assert _feed_ids(cached_client) == _feed_ids(reader) == [garden.id]

    db.get(Generation, garden.id).is_public = False
    db.commit()

    assert _feed_ids(reader) == []
    clock.now += TTL_SECONDS * 0.9
    assert _feed_ids(cached_client) == [garden.id]  # the anonymous page, rendered before the change
    clock.now += TTL_SECONDS * 0.2
    assert _feed_ids(cached_client) == []


def test_parameter_order_does_not_matter_and_errors_are_not_kept(cached_client, db, garden):
    first = cached_client.get("/api/v1/styles?limit=5&sort=recent").json()
    db.get(Style, garden.style_id).title = "Renamed"
    db.commit()
    assert cached_client.get("/api/v1/styles?sort=recent&limit=5").json() == first
    for _ in range(2):
        assert_error(cached_client.get("/api/v1/feed?cursor=not-a-cursor"), 400, "INVALID_CURSOR")


class _Page(BaseModel):
    value: int


def test_concurrent_misses_render_once_and_a_failed_render_is_not_kept():
    renders = 0

    async def render() -> _Page:
        nonlocal renders
        renders += 1
        await asyncio.sleep(0.05)
        return _Page(value=renders)

    async def failing() -> _Page:
        await asyncio.sleep(0.05)
        raise RuntimeError("database went away")

    async def scenario():
        cache = PublicReadCache(seconds=60)
        bodies = await asyncio.gather(*(cache.json("/feed?", render) for _ in range(20)))
        assert set(bodies) == {b'{"value":1}'} and renders == 1

        results = await asyncio.gather(*(cache.json("/styles?", failing) for _ in range(3)), return_exceptions=True)
        assert all(isinstance(result, RuntimeError) for result in results)
        assert await cache.json("/styles?", render) == b'{"value":2}'

    asyncio.run(scenario())


def test_the_number_of_pages_kept_is_bounded():
    renders: list[str] = []

    def page(key: str):
        async def render() -> _Page:
            renders.append(key)
            return _Page(value=len(renders))
        return render

    async def scenario():
        cache = PublicReadCache(seconds=60, max_pages=2)
        for key in ["a", "b", "a", "c", "a", "b"]:
            await cache.json(key, page(key))

    asyncio.run(scenario())
    # Adding "c" drops the oldest page, "a"; adding "a" back drops "b".
    assert renders == ["a", "b", "c", "a", "b"]
