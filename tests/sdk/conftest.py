"""The SDK against the real API: uvicorn on a free port with its lifespan, the test session's database, and
API keys made the way a person makes one (signed in, then `POST /auth/api-keys`).

The generation Serve application is not deployed here. Every dispatch fails as it does when Serve is
unreachable (the generation goes `retrying`), and `Replica` then finishes the generation through the service
layer, as tests/api/test_generations.py does: the next attempt is claimed, a signed image is stored with
`publish_generated_image` (what a replica calls) and the attempt completes, paying the artist.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, update

from core.contracts import GenerationResult
from core.provenance import publish_generated_image
from core.provenance_info import ProvenanceInfo
from core.settings import DatabaseSettings
from core.signature import ArtistMark
from db.engine import create_api_engine, create_session_factory
from db.models import Artist, Generation, Style
from platform_api.app import create_app
from platform_api.generations import transitions
from tests.core.artwork import synthetic_artwork
from tests.factories import make_artist, make_style
from tests.stubs.compute import ServeDown
from tests.stubs.server import BackgroundServer

# Prompt tags that make `Replica` end a generation otherwise than with its own signed image.
FAILS = "unlucky"  # a final failure: refunded
MISLABELLED = "mislabelled"  # the stored image proves another generation


@dataclass
class SdkStack:
    url: str
    app: FastAPI


@pytest.fixture
def stack(settings, clean_database) -> Iterator[SdkStack]:
    app = create_app(settings)
    app.state.generations = ServeDown()
    with BackgroundServer(app, lifespan=True) as server:
        yield SdkStack(url=server.url, app=app)


def issue_api_key(url: str, email: str) -> str:
    """Sign in as `email` (welcome bonus: 100 tokens) and create an API key from that browser session."""
    with httpx.Client(base_url=f"{url}/api/v1") as browser:
        browser.post("/auth/dev-login", json={"email": email}).raise_for_status()
        created = browser.post("/auth/api-keys", json={"name": "batch"},
                               headers={"X-CSRF-Token": browser.cookies["sl_csrf"]})
        created.raise_for_status()
        return created.json()["data"]["key"]


@pytest.fixture
def api_key(stack) -> str:
    return issue_api_key(stack.url, "batch@example.com")


@pytest.fixture
def style(db) -> Style:
    artist = make_artist(db, artist_name="김민아")
    style = make_style(db, artist=artist, title="Ink Wash", training_status="completed", generation_cost_tokens=30,
                       adapter_key="private/styles/1/runs/1/pytorch_lora_weights.safetensors")
    db.commit()
    return style


class Replica:
    """Finishes every generation whose dispatch failed, in a thread of its own, until the test ends."""

    def __init__(self, stack: SdkStack, database_url: str):
        self.app = stack.app
        self.database_url = database_url
        self.finished: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)

    def __enter__(self) -> Replica:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _serve(self) -> None:
        engine = create_api_engine(DatabaseSettings(url=self.database_url, pool_size=1))
        sessions = create_session_factory(engine)
        try:
            while not self._stop.is_set():
                async with sessions() as db, db.begin():
                    waiting = list(await db.scalars(select(Generation.id).where(Generation.status == "retrying")))
                for generation_id in waiting:
                    async with sessions() as db, db.begin():
                        self.finished[generation_id] = await self._finish(db, generation_id)
                await asyncio.sleep(0.05)
        finally:
            await engine.dispose()

    async def _finish(self, db, generation_id: int) -> str:
        settings = self.app.state.settings
        await db.execute(update(Generation).where(Generation.id == generation_id)
                         .values(next_attempt_at=datetime.now(UTC)))
        generation = await transitions.claim(db, generation_id, settings)
        if FAILS in generation.prompt_tags:
            return await transitions.fail_attempt(db, generation_id, generation.attempts, code="GENERATION_REJECTED",
                                                  message="rejected", retryable=False, settings=settings)
        style, artist = (await db.execute(
            select(Style, Artist).join(Artist, Artist.id == Style.artist_id).where(Style.id == generation.style_id)
        )).one()
        claimed_id = generation_id + 1000 if MISLABELLED in generation.prompt_tags else generation_id
        info = ProvenanceInfo(artist_id=artist.id, artist_name=artist.artist_name, style_id=style.id,
                              style_title=style.title, generation_id=claimed_id, seed=generation.seed,
                              created_at=generation.created_at, platform="Style License",
                              licence="Licensed style.")
        image = synthetic_artwork(generation.width, generation.height, seed=generation.seed)
        stored = await publish_generated_image(self.app.state.object_store, image, info,
                                               mark=ArtistMark(artist.artist_name), keys=self.app.state.provenance_keys)
        result = GenerationResult(image_key=stored.image, thumbnail_key=stored.thumbnail, width=generation.width,
                                  height=generation.height, timings={})
        await transitions.complete(db, generation_id, generation.attempts, result, settings)
        return "completed"


@pytest.fixture
def replica(stack, database_url) -> Iterator[Replica]:
    with Replica(stack, database_url) as running:
        yield running
