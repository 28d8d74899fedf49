"""The SDK's client against the running API: API-key auth, lists, idempotent requests, Retry-After, errors,
and a whole prompts file generated, downloaded, provenance-checked and re-run without a second charge."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from core.settings import LimitSettings
from db.models import Generation, User
from platform_api.tokens.audit import audit_database
from stylelicense import ApiError, RetryPolicy, StyleLicense, generate_batch, read_prompts
from tests.factories import make_style
from tests.sdk.conftest import FAILS, MISLABELLED, issue_api_key

FAST_RETRIES = RetryPolicy(max_attempts=3, backoff_seconds=0.05)


def run(stack, api_key, work, **options):
    async def main():
        async with StyleLicense(api_key, stack.url, retry=FAST_RETRIES, **options) as client:
            return await work(client)

    return asyncio.run(main())


async def collect(items) -> list:
    return [item async for item in items]


def test_lists_page_through_cursors(stack, api_key, style, db, monkeypatch):
    for title in ("Ink Harbour", "Ink Garden"):
        make_style(db, title=title, training_status="completed")
    make_style(db, title="Ink Draft", training_status="training")
    db.commit()
    monkeypatch.setattr("stylelicense.client.PAGE_SIZE", 2)
    listed = run(stack, api_key, lambda client: collect(client.styles()))
    assert sorted(s["title"] for s in listed) == ["Ink Garden", "Ink Harbour", "Ink Wash"]
    assert len(run(stack, api_key, lambda client: collect(client.styles(limit=1)))) == 1
    found = run(stack, api_key, lambda client: collect(client.search_styles("harbour")))
    assert [s["title"] for s in found] == ["Ink Harbour"]


def test_a_retried_request_with_its_key_charges_once(stack, api_key, style):
    async def twice(client):
        first = await client.request_generation(style.id, ["cat"], idempotency_key="row-1")
        again = await client.request_generation(style.id, ["cat"], idempotency_key="row-1")
        return first, again, await client.balance()

    first, again, balance = run(stack, api_key, twice)
    assert again["id"] == first["id"] and balance["token_balance"] == 70


def test_errors_carry_the_api_code_details_and_request_id(stack, api_key, style, db):
    with pytest.raises(ApiError) as refused:
        run(stack, "slk_abc_not-a-key", lambda client: client.balance())
    assert (refused.value.status, refused.value.code) == (401, "UNAUTHORIZED") and refused.value.request_id
    expensive = make_style(db, training_status="completed", generation_cost_tokens=500, adapter_key="private/x")
    db.commit()
    with pytest.raises(ApiError) as poor:
        run(stack, api_key, lambda client: client.request_generation(expensive.id, ["cat"], idempotency_key="k"))
    assert poor.value.code == "INSUFFICIENT_TOKENS" and poor.value.details == {"required": 500, "available": 100}
    with pytest.raises(ApiError) as invalid:
        run(stack, api_key, lambda client: client.request_generation(style.id, ["고양이"], idempotency_key="k2"))
    assert invalid.value.status == 422 and invalid.value.code == "VALIDATION_ERROR"


@pytest.fixture
def rate_limited_stack(settings, request):
    settings.limits = LimitSettings(enabled=True, generation="1/2 seconds", authenticated="1000/minute",
                                    anonymous="1000/minute", sign_in="100/minute")
    return request.getfixturevalue("stack")


def test_a_rate_limited_request_waits_for_retry_after(rate_limited_stack, style, db):
    stack = rate_limited_stack
    key = issue_api_key(stack.url, "busy@example.com")
    notices = []

    async def two(client):
        return [await client.request_generation(style.id, [tag], idempotency_key=tag) for tag in ("cat", "dog")]

    made = run(stack, key, two, on_retry=notices.append)
    assert len({g["id"] for g in made}) == 2
    assert notices and notices[0].reason == "rate limited" and 1 <= notices[0].delay_seconds <= 2
    assert db.scalar(select(User.token_balance).where(User.email == "busy@example.com")) == 40


def _prompts(tmp_path: Path, style_id: int, *rows: str) -> Path:
    path = tmp_path / "prompts.csv"
    path.write_text("style_id,tags,aspect_ratio\n" + "".join(f'{style_id},"{row}",1:1\n' for row in rows))
    return path


def test_a_prompts_file_is_generated_checked_and_rerun_without_a_second_charge(
        stack, api_key, style, replica, tmp_path, db, database_url):
    rows = read_prompts(_prompts(tmp_path, style.id, "cat, moon", "cat, moon", "harbour"))
    seen = []
    outcomes = run(stack, api_key, lambda client: generate_batch(
        client, rows, out_dir=tmp_path / "out", concurrency=2, poll_seconds=0.1,
        on_update=lambda row, generation: seen.append(generation["status"])))
    assert [o.error for o in outcomes] == [None, None, None]
    assert len({o.generation["id"] for o in outcomes}) == 3  # the repeated row is a second image
    for outcome in outcomes:
        assert outcome.verification["generation"]["id"] == outcome.generation["id"]
        assert outcome.verification["artist"]["name"] == "김민아"
        assert outcome.image_path.read_bytes() == stack.app.state.object_store.root.joinpath(
            db.get(Generation, outcome.generation["id"]).result_key).read_bytes()
    assert {"queued", "retrying", "completed"} <= set(seen)
    balance = run(stack, api_key, lambda client: client.balance())
    assert balance["token_balance"] == 10

    again = run(stack, api_key, lambda client: generate_batch(client, rows, out_dir=tmp_path / "again",
                                                               poll_seconds=0.1))
    assert [o.generation["id"] for o in again] == [o.generation["id"] for o in outcomes]
    assert run(stack, api_key, lambda client: client.balance())["token_balance"] == 10
    assert len(db.scalars(select(Generation)).all()) == 3
    ledger = run(stack, api_key, lambda client: collect(client.transactions()))
    assert sorted(entry["kind"] for entry in ledger) == ["generation_reserve"] * 3 + ["welcome_bonus"]
    assert asyncio.run(audit_database(database_url)) == []


def test_failed_rows_and_images_that_prove_another_generation_are_reported(
        stack, api_key, style, replica, tmp_path):
    rows = read_prompts(_prompts(tmp_path, style.id, "boats", f"boats, {FAILS}", f"boats, {MISLABELLED}"))
    ok, failed, mislabelled = run(stack, api_key, lambda client: generate_batch(
        client, rows, out_dir=tmp_path / "out", poll_seconds=0.1))
    assert ok.ok and ok.image_path.exists()
    assert failed.generation["status"] == "failed" and "refunded" in failed.error and failed.image_path is None
    assert "proves" in mislabelled.error and mislabelled.image_path is None
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [ok.image_path.name]
    assert run(stack, api_key, lambda client: client.balance())["token_balance"] == 40  # the failed one refunded
