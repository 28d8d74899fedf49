"""The ledger under real concurrency against PostgreSQL: no double spend, one outcome per generation,
balances always equal to their rows (the audit proves it after every test)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter

import pytest
from sqlalchemy import select, text, update

from core.settings import Settings
from db.engine import create_api_engine, create_session_factory
from db.models import Artist, Generation, Transaction, User
from platform_api.errors import ApiError
from platform_api.tokens import ledger
from platform_api.tokens.audit import audit_database
from tests.factories import make_style, make_user
from tests.helpers import run_with_sessions

CLIENTS = 32


def _run(settings: Settings, work):
    return run_with_sessions(settings, work, CLIENTS)


def _generation(db, user, style, **values) -> Generation:
    generation = Generation(user_id=user.id, style_id=style.id, prompt_tags=["x"], prompt="x", aspect_ratio="1:1",
                            width=512, height=512, seed=1, cost_tokens=style.generation_cost_tokens, **values)
    db.add(generation)
    db.flush()
    return generation


@pytest.fixture
def audit(database_url):
    def check() -> None:
        assert asyncio.run(audit_database(database_url)) == []

    return check


def test_concurrent_reservations_never_overspend(settings, db, audit):
    """32 clients each try 10 one-token generations against a 100-token balance: exactly 100 go through."""
    style = make_style(db, generation_cost_tokens=1)
    user = make_user(db, token_balance=0)
    db.commit()
    asyncio.run(_welcome(settings, user.id))

    async def client(factory) -> Counter:
        outcomes = Counter()
        for _ in range(10):
            async with factory() as session:
                try:
                    async with session.begin():
                        generation = Generation(user_id=user.id, style_id=style.id, prompt_tags=["x"], prompt="x",
                                                aspect_ratio="1:1", width=512, height=512, seed=1, cost_tokens=1)
                        session.add(generation)
                        await session.flush()
                        await ledger.reserve_for_generation(session, user_id=user.id, generation_id=generation.id,
                                                            amount=1)
                    outcomes["reserved"] += 1
                except ApiError as error:
                    assert error.error.code == "INSUFFICIENT_TOKENS"
                    assert error.details["required"] == 1 and error.details["available"] >= 0
                    outcomes["refused"] += 1
        return outcomes

    async def work(factory):
        return sum(await asyncio.gather(*(client(factory) for _ in range(CLIENTS))), Counter())

    outcomes = _run(settings, work)
    assert outcomes == Counter(reserved=100, refused=220)
    db.expire_all()
    assert db.get(User, user.id).token_balance == 0
    assert db.scalar(select(text("count(*)")).select_from(Generation)) == 100
    audit()


async def _welcome(settings: Settings, user_id: int) -> None:
    """100 tokens for a test user, the way tokens arrive: as a ledger row."""
    engine = create_api_engine(settings.database)
    async with create_session_factory(engine)() as session, session.begin():
        await ledger.grant_welcome_bonus(session, user_id)
    await engine.dispose()


def test_concurrent_settle_and_refund_give_each_generation_one_outcome(settings, db, audit):
    style = make_style(db, generation_cost_tokens=2)
    artist_user_id = db.get(Artist, style.artist_id).user_id
    user = make_user(db)
    db.commit()
    asyncio.run(_welcome(settings, user.id))
    generations = [_generation(db, user, style) for _ in range(40)]
    db.commit()

    async def reserve_all(factory):
        async with factory() as session, session.begin():
            for generation in generations:
                await ledger.reserve_for_generation(session, user_id=user.id, generation_id=generation.id, amount=2)

    _run(settings, reserve_all)

    async def outcome(factory, generation_id: int, settle: bool) -> bool:
        async with factory() as session, session.begin():
            if settle:
                return await ledger.settle_generation(session, generation_id=generation_id,
                                                      artist_user_id=artist_user_id, share=1.0)
            return await ledger.refund_generation(session, generation_id=generation_id)

    async def race(factory):
        attempts = [outcome(factory, g.id, settle) for g in generations for settle in (True, False, True, False)]
        return await asyncio.gather(*attempts)

    results = _run(settings, race)
    assert sum(results) == len(generations)  # one winner per generation
    outcomes = dict(db.execute(
        select(Transaction.related_generation_id, Transaction.kind)
        .where(Transaction.kind.in_(("generation_settle", "generation_refund")))
    ).all())
    assert len(outcomes) == len(generations)
    for generation in generations:
        status = "completed" if outcomes[generation.id] == "generation_settle" else "failed"
        db.execute(update(Generation).where(Generation.id == generation.id).values(status=status))
    db.commit()
    settled = sum(1 for kind in outcomes.values() if kind == "generation_settle")
    db.expire_all()
    assert db.get(Artist, style.artist_id).earned_token_balance == 2 * settled
    assert db.get(User, user.id).token_balance == 100 - 2 * settled
    audit()


def test_an_artist_pays_for_their_own_style_and_earns_it(settings, db, audit):
    style = make_style(db, generation_cost_tokens=30)
    artist = db.get(Artist, style.artist_id)
    db.commit()
    asyncio.run(_welcome(settings, artist.user_id))
    generation = _generation(db, db.get(User, artist.user_id), style, status="completed")
    db.commit()

    async def work(factory):
        async with factory() as session, session.begin():
            await ledger.reserve_for_generation(session, user_id=artist.user_id, generation_id=generation.id, amount=30)
            assert await ledger.settle_generation(session, generation_id=generation.id,
                                                  artist_user_id=artist.user_id, share=1.0)
            # Both outcome calls are no-ops once the generation has one.
            assert not await ledger.settle_generation(session, generation_id=generation.id,
                                                      artist_user_id=artist.user_id, share=1.0)
            assert not await ledger.refund_generation(session, generation_id=generation.id)

    _run(settings, work)
    db.expire_all()
    assert db.get(User, artist.user_id).token_balance == 70
    assert db.get(Artist, artist.id).earned_token_balance == 30
    audit()


def _queued_generation(settings, db, price: int) -> tuple[User, Generation]:
    """A user holding the welcome bonus and a queued generation of a style at `price`."""
    style = make_style(db, generation_cost_tokens=price)
    user = make_user(db)
    db.commit()
    asyncio.run(_welcome(settings, user.id))
    generation = _generation(db, user, style)
    db.commit()
    return user, generation


def test_a_reservation_is_idempotent_per_generation(settings, db, audit):
    user, generation = _queued_generation(settings, db, 10)

    async def work(factory):
        async with factory() as session, session.begin():
            for _ in range(3):
                await ledger.reserve_for_generation(session, user_id=user.id, generation_id=generation.id, amount=10)

    _run(settings, work)
    db.expire_all()
    assert db.get(User, user.id).token_balance == 90
    audit()


def test_the_audit_finds_a_tampered_balance(settings, db, database_url):
    user = make_user(db)
    db.commit()
    asyncio.run(_welcome(settings, user.id))
    command = [sys.executable, "-m", "platform_api.tokens.audit"]
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    sound = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert sound.returncode == 0, sound.stdout + sound.stderr
    assert "ledger sound" in sound.stdout

    db.execute(update(User).where(User.id == user.id).values(token_balance=1000))
    db.commit()
    broken = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert broken.returncode == 1
    assert "user balance differs from its ledger rows" in broken.stdout and "'cached': 1000" in broken.stdout


def test_the_audit_finds_a_finished_generation_without_an_outcome(settings, db, database_url):
    user, generation = _queued_generation(settings, db, 5)

    async def work(factory):
        async with factory() as session, session.begin():
            await ledger.reserve_for_generation(session, user_id=user.id, generation_id=generation.id, amount=5)

    _run(settings, work)
    assert asyncio.run(audit_database(database_url)) == []  # still queued: a live charge
    db.execute(update(Generation).values(status="failed"))
    db.commit()
    problems = asyncio.run(audit_database(database_url))
    assert len(problems) == 1 and problems[0].startswith("charge without an outcome")
