"""Small steps many API tests share."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from core.settings import (
    AppSettings,
    AuthSettings,
    DatabaseSettings,
    DiffusionSettings,
    Environment,
    LimitSettings,
    PaymentProvider,
    PaymentSettings,
    ProvenanceSettings,
    Settings,
    StorageSettings,
)
from core.training_recipe import FamilyRecipe, TrainingRecipe
from db.base import Base
from db.engine import create_api_engine, create_session_factory
from db.models import Generation
from platform_api.tokens import ledger
from tests.factories import make_style


def csrf_headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies.get("sl_csrf", "")}


def dev_login(client: TestClient, email: str, username: str | None = None) -> dict:
    """Sign `client` in through the development sign-in; returns the signed-in user."""
    body = {"email": email} | ({"username": username} if username else {})
    response = client.post("/api/v1/auth/dev-login", json=body, headers=csrf_headers(client))
    assert response.status_code == 200, response.text
    return response.json()["data"]["user"]


def another_client(client: TestClient, email: str) -> tuple[TestClient, dict]:
    """A second browser on the same running app, signed in as `email`; returns it and its user."""
    other = TestClient(client.app)
    return other, dev_login(other, email)


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def production_settings(database_url: str = "postgresql://db.internal/style_license", **sections) -> Settings:
    """Settings that pass every production check; pass sections to make one of them unsafe."""
    strong = "x" * 48
    values = {
        "app": AppSettings(env=Environment.production, secret_key=strong),
        "database": DatabaseSettings(url=database_url),
        "storage": StorageSettings(url_signing_key=strong),
        "provenance": ProvenanceSettings(
            c2pa_certificate_chain_path=Path("/run/secrets/c2pa/chain.pem"),
            c2pa_private_key_path=Path("/run/secrets/c2pa/key.pem"),
            c2pa_trust_anchors_path=Path("/run/secrets/c2pa/anchors.pem"),
            watermark_key=strong,
        ),
        "auth": AuthSettings(dev_login=False, session_cookie_secure=True, internal_api_token=strong),
        "payments": PaymentSettings(provider=PaymentProvider.toss, toss_secret_key="live_sk_x", toss_client_key="live_ck_x"),
        "diffusion": DiffusionSettings(base_model="/models/stable-diffusion-v1-5"),
    } | sections
    return Settings(**values)


def settings_for_tests(database_url: str, root: Path) -> Settings:
    """What the `settings` fixture gives: the test database, files under `root`, no rate limits, no
    reconcilers, no cached public pages."""
    return Settings(
        app=AppSettings(env=Environment.test, log_level="WARNING", data_dir=root / "data", run_reconcilers=False,
                        public_read_cache_seconds=0),
        database=DatabaseSettings(url=database_url),
        storage=StorageSettings(local_dir=root / "objects"),
        auth=AuthSettings(),
        limits=LimitSettings(enabled=False),
    )


def truncate_all(engine: Engine) -> None:
    tables = ", ".join(f'"{t.schema}"."{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as connection:
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


def run_with_sessions(settings: Settings, work, clients: int):
    """Run `work(session_factory)` on its own event loop with a pool wide enough for `clients` at once."""

    async def main():
        engine = create_api_engine(settings.database.model_copy(update={"pool_size": clients, "max_overflow": 8}))
        try:
            return await work(create_session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(main())


def spend_tokens(db: Session, database_url: str, user_id: int, amount: int) -> int:
    """Charge `amount` tokens for a queued generation through the real ledger; returns the generation id."""
    style = make_style(db, generation_cost_tokens=amount)
    generation = Generation(user_id=user_id, style_id=style.id, prompt_tags=["x"], prompt="x", aspect_ratio="1:1",
                            width=512, height=512, seed=1, cost_tokens=amount, adapter_key=style.adapter_key)
    db.add(generation)
    db.commit()

    in_transaction(database_url, lambda session: ledger.reserve_for_generation(
        session, user_id=user_id, generation_id=generation.id, amount=amount))
    return generation.id


def in_transaction(database_url: str, work):
    """Run `work(session)` in one transaction of its own, committed when it returns; returns its result."""

    async def main():
        engine = create_api_engine(DatabaseSettings(url=database_url))
        try:
            async with create_session_factory(engine)() as db, db.begin():
                return await work(db)
        finally:
            await engine.dispose()

    return asyncio.run(main())


def until(condition, timeout: float, what: str, interval: float = 0.5):
    """`condition()`'s first truthy value, polled every `interval` s; an HTTP error or a missing key while
    polling counts as not yet."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (httpx.HTTPError, KeyError):
            value = None
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}")


# The session fixtures of the tiny development models (tests/conftest.py), by family.
TINY_MODEL_FIXTURES = {"sd1": "tiny_model", "sdxl": "tiny_xl_model"}


def tiny_model_of(request, family: str) -> str:
    """The folder of the tiny model of `family`, for a test parametrized over families."""
    return request.getfixturevalue(TINY_MODEL_FIXTURES[family])


def finished_generation(client, generation_id: int, timeout: float = 180) -> dict:
    """The generation once it has completed or failed, polled through the API (a TestClient or httpx.Client)."""
    def finished() -> dict | None:
        generation = client.get(f"/api/v1/generations/{generation_id}").json()["data"]
        return generation if generation["status"] in ("completed", "failed") else None

    return until(finished, timeout, f"generation {generation_id} to finish", interval=0.3)


def recipe_environment(recipe: TrainingRecipe) -> dict[str, str]:
    """The recipe as the SL_DIFFUSION_TRAINING__* variables a process started elsewhere reads it from."""
    def flatten(prefix: str, values: dict) -> dict[str, str]:
        variables = {}
        for name, value in values.items():
            if isinstance(value, dict):
                variables |= flatten(f"{prefix}{name.upper()}__", value)
            elif value is not None:
                variables[f"{prefix}{name.upper()}"] = str(value)
        return variables

    return flatten("SL_DIFFUSION_TRAINING__", recipe.model_dump())


def tiny_training_recipe(*, epochs: int = 2, batch_size: int = 1, learning_rate: float = 1e-3) -> TrainingRecipe:
    """A recipe for the tiny models on the CPU: each image once per epoch, at 64², rank 4, two sampling steps.
    A handful of steps need not beat the base model, so it does not have to (tests/training/test_learning.py
    holds the default recipe to that)."""
    family = FamilyRecipe(rank=4, alpha=4, learning_rate=learning_rate, batch_size=batch_size)
    return TrainingRecipe(epochs=epochs, views_per_image=1, min_views=0, sd1=family, sdxl=family, resolution=64,
                          sample_steps=2, require_better_than_base=False)
