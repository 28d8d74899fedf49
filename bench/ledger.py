"""Token reservations per second through the ledger, against a bare conditional UPDATE on the same database
in the same run (the floor any correct implementation pays).

    .venv/bin/python -m bench.ledger [--operations 3000] [--clients 1 8 32]

Uses TEST_DATABASE_URL, else this machine's PostgreSQL on 127.0.0.1:5432, else an embedded one, in a
throwaway database. Each ledger reservation is what a generation request does in its transaction: insert the
generation, append the reserve row, debit the balance conditionally. "Spread" gives each client its own
buyer; "one buyer" makes every client contend for a single balance row.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sqlalchemy import insert, text

from bench.report import publish
from cluster.postgres import create_database, drop_database, server_answers, start_embedded_postgres
from core.settings import DatabaseSettings
from db.engine import create_api_engine, create_session_factory, create_sync_engine
from db.migrate import upgrade
from db.models import Generation
from platform_api.tokens import ledger

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
Operation = Callable[[object, int], Awaitable[None]]


def _seed(url: str, buyers: int, tokens_each: int) -> tuple[list[int], int]:
    """Buyers with balances (as ledger rows) and a style priced at one token."""
    engine = create_sync_engine(url)
    with engine.begin() as connection:
        user_ids = [
            connection.execute(text(
                "INSERT INTO auth.users (email, username) VALUES (:email, :username) RETURNING id"
            ), {"email": f"b{n}@bench.example", "username": f"bench_{n}"}).scalar_one()
            for n in range(buyers)
        ]
        for user_id in user_ids:
            connection.execute(text(
                "INSERT INTO token.transactions (kind, receiver_id, amount, memo) VALUES ('purchase', :u, :a, 'bench')"
            ), {"u": user_id, "a": tokens_each})
            connection.execute(text("UPDATE auth.users SET token_balance = :a WHERE id = :u"),
                               {"u": user_id, "a": tokens_each})
        artist_user = connection.execute(text(
            "INSERT INTO auth.users (email, username, role) VALUES ('artist@bench.example', 'bench_artist', 'artist') "
            "RETURNING id")).scalar_one()
        artist = connection.execute(text(
            "INSERT INTO auth.artists (user_id, artist_name, verified_email) VALUES (:u, 'Bench', 'a@bench.example') "
            "RETURNING id"), {"u": artist_user}).scalar_one()
        style = connection.execute(text(
            "INSERT INTO style.styles (artist_id, title, trigger_tag, generation_cost_tokens, training_status) "
            "VALUES (:a, 'Bench', 'bench', 1, 'completed') RETURNING id"), {"a": artist}).scalar_one()
    engine.dispose()
    return user_ids, style


async def _ledger_reservation(session_factory, user_id: int, style_id: int) -> None:
    async with session_factory() as session, session.begin():
        generation = await session.scalar(insert(Generation).returning(Generation).values(
            user_id=user_id, style_id=style_id, prompt_tags=["bench"], prompt="bench", aspect_ratio="1:1",
            width=512, height=512, seed=1, cost_tokens=1))
        await ledger.reserve_for_generation(session, user_id=user_id, generation_id=generation.id, amount=1)


async def _bare_update(session_factory, user_id: int, style_id: int) -> None:
    async with session_factory() as session, session.begin():
        await session.execute(text(
            "UPDATE auth.users SET token_balance = token_balance - 1 WHERE id = :u AND token_balance >= 1 RETURNING id"
        ), {"u": user_id})


async def _rate(url: str, operation, clients: int, operations: int, buyer_of, style_id: int) -> float:
    engine = create_api_engine(DatabaseSettings(url=url, pool_size=clients, max_overflow=0))
    factory = create_session_factory(engine)
    per_client = operations // clients

    async def client(index: int) -> None:
        for _ in range(per_client):
            await operation(factory, buyer_of(index), style_id)

    await asyncio.gather(*(operation(factory, buyer_of(i), style_id) for i in range(clients)))  # warm the pool
    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    await engine.dispose()
    return per_client * clients / elapsed


def run(server_url: str, operations: int, client_counts: list[int]) -> list[str]:
    name = f"sl_bench_{secrets.token_hex(4)}"
    url = create_database(server_url, name, exist_ok=False)
    try:
        upgrade(url)
        buyers, style = _seed(url, max(client_counts), tokens_each=10 * operations)
        rows = ["| clients | buyers | ledger reservations/s | bare conditional UPDATE/s | ledger ÷ bare |",
                "|---:|---|---:|---:|---:|"]
        for clients in client_counts:
            for label, buyer_of in (("spread", lambda i: buyers[i]), ("one buyer", lambda i: buyers[0])):
                ledger_rate = asyncio.run(_rate(url, _ledger_reservation, clients, operations, buyer_of, style))
                bare_rate = asyncio.run(_rate(url, _bare_update, clients, operations, buyer_of, style))
                rows.append(f"| {clients} | {label} | {ledger_rate:,.0f} | {bare_rate:,.0f} | "
                            f"{ledger_rate / bare_rate:.2f} |")
        return rows
    finally:
        drop_database(server_url, name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--operations", type=int, default=3000, help="reservations per measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    arguments = parser.parse_args()
    import os

    configured = os.environ.get("TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory() as data_dir:
        if configured or server_answers(LOCAL_SERVER):
            rows = run(configured or LOCAL_SERVER, arguments.operations, arguments.clients)
        else:
            server = start_embedded_postgres(Path(data_dir))
            try:
                rows = run(server.get_uri(), arguments.operations, arguments.clients)
            finally:
                server.cleanup()
    publish(
        "Ledger",
        f".venv/bin/python -m bench.ledger --operations {arguments.operations} "
        f"--clients {' '.join(map(str, arguments.clients))}",
        [
            "Token reservations per second (each its own transaction and commit), ledger against a bare "
            "conditional UPDATE measured side by side in the same run. Target: ≥ 300 ledger reservations/s.",
            "",
            *rows,
        ],
    )


if __name__ == "__main__":
    main()
