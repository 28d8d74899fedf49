"""Cached counts under real concurrency against PostgreSQL: many writers at once, each in its own transaction,
and every like_count, comment_count and follower_count still equals a recount of its rows."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import select

from core.settings import Settings
from db.models import Comment, Generation, Notification, User
from platform_api.app import create_app
from platform_api.community import comments, service
from platform_api.community.audit import counter_drift
from platform_api.community.schemas import CommentCreate
from platform_api.errors import ApiError
from tests.factories import make_artist, make_generation, make_user
from tests.helpers import run_with_sessions
from tests.stubs.server import BackgroundServer

CLIENTS = 24


def _run(settings: Settings, work):
    return run_with_sessions(settings, work, CLIENTS)


async def _as(factory, user_id: int, action) -> str:
    """One request's transaction: `action(session, user)`; returns "ok" or the refused error's code."""
    async with factory() as session:
        try:
            async with session.begin():
                await action(session, await session.get(User, user_id))
            return "ok"
        except ApiError as error:
            return error.error.code


def _drift(db) -> list[str]:
    db.rollback()
    return counter_drift(db.connection())


def _race(settings: Settings, people: list[int], targets: list[int], do, undo) -> Counter:
    """Every person, all at once, does or undoes (6 in 10 do) to a random target, a dozen times each."""

    async def person(factory, user_id: int, seed: int) -> Counter:
        rng, outcomes = random.Random(seed), Counter()
        for _ in range(12):
            target, act = rng.choice(targets), do if rng.random() < 0.6 else undo
            outcomes[await _as(factory, user_id, lambda s, u: act(s, u, target))] += 1
        return outcomes

    async def work(factory):
        return sum(await asyncio.gather(*(person(factory, u, n) for n, u in enumerate(people))), Counter())

    return _run(settings, work)


def test_concurrent_likes_and_unlikes_keep_like_count_exact(settings, db):
    users = [make_user(db).id for _ in range(CLIENTS)]
    images = [make_generation(db).id for _ in range(3)]
    db.commit()
    assert _race(settings, users, images, service.like, service.unlike) == Counter(ok=CLIENTS * 12)
    assert _drift(db) == []
    assert sum(db.scalars(select(Generation.like_count)).all()) > 0


def test_concurrent_follows_and_unfollows_keep_follower_count_exact(settings, db):
    fans = [make_user(db).id for _ in range(CLIENTS)]
    artists = [make_artist(db).user_id for _ in range(2)]
    db.commit()
    outcomes = _race(settings, fans, artists, service.follow, service.unfollow)
    assert set(outcomes) <= {"ok", "DUPLICATE_FOLLOW", "NOT_FOUND"} and outcomes["ok"] > 0
    assert _drift(db) == []


def test_replies_racing_the_deletion_of_their_parent(settings, db):
    """Replies are written while the parent's author deletes it: each reply either lands under a placeholder
    or is refused, and no count or placeholder is left wrong."""
    owner, author = make_user(db), make_user(db)
    repliers = [make_user(db).id for _ in range(CLIENTS - 1)]
    image = make_generation(db, user=owner)
    db.commit()

    async def parent_id(factory) -> int:
        async with factory() as session, session.begin():
            parent = await comments.add_comment(session, await session.get(User, author.id), image.id,
                                                CommentCreate(content="parent"))
            return parent.id

    for round in range(4):
        parent = _run(settings, parent_id)

        async def reply(factory, replier: int, parent=parent) -> str:
            created = []

            async def write(s, u):
                created.append(await comments.add_comment(s, u, image.id, CommentCreate(content="r", parent_id=parent)))

            outcome = await _as(factory, replier, write)
            if created and round % 2:  # half the rounds, repliers take their reply back at once
                return await _as(factory, replier, lambda s, u: comments.delete_comment(s, u, created[0].id))
            return outcome

        async def work(factory, parent=parent):
            deletion = _as(factory, author.id, lambda s, u: comments.delete_comment(s, u, parent))
            return Counter(await asyncio.gather(deletion, *(reply(factory, r) for r in repliers)))

        outcomes = _run(settings, work)
        assert set(outcomes) <= {"ok", "NOT_FOUND"}, outcomes
        assert _drift(db) == []
    assert db.scalar(select(Comment.id).where(~Comment.is_deleted, Comment.content == "parent")) is None


def test_likes_over_http_from_many_browsers_at_once(settings, db, clean_database):
    owner = make_user(db)
    image = make_generation(db, user=owner)
    db.commit()
    with BackgroundServer(create_app(settings), lifespan=True) as api:
        browsers = [httpx.Client(base_url=api.url) for _ in range(16)]
        try:
            for n, browser in enumerate(browsers):
                browser.post("/api/v1/auth/dev-login", json={"email": f"fan{n}@example.com"}).raise_for_status()

            def twice(method: str):
                def act(browser: httpx.Client) -> int:
                    headers = {"X-CSRF-Token": browser.cookies["sl_csrf"]}
                    url = f"/api/v1/generations/{image.id}/like"
                    codes = [browser.request(method, url, headers=headers).status_code for _ in range(2)]
                    return max(codes)
                return act

            with ThreadPoolExecutor(16) as pool:
                assert set(pool.map(twice("POST"), browsers)) == {200}
            assert _drift(db) == []
            assert db.scalar(select(Generation.like_count).where(Generation.id == image.id)) == 16
            assert len(db.scalars(select(Notification).where(Notification.type == "like")).all()) == 16
            with ThreadPoolExecutor(16) as pool:
                assert set(pool.map(twice("DELETE"), browsers)) == {200}
            assert db.scalar(select(Generation.like_count).where(Generation.id == image.id)) == 0
            assert _drift(db) == []
        finally:
            for browser in browsers:
                browser.close()
