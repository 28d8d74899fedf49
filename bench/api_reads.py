"""Latency and throughput of the API's busiest reads — the public feed, the style list and search — at 100
concurrent clients, against a bare FastAPI + psycopg endpoint doing one indexed query (the newest public
images) on the same database in the same run: the floor any endpoint of ours pays.

    .venv/bin/python -m bench.api_reads [--clients 100] [--seconds 15] [--generations 20000] [--think-ms 0 1000]

Uses TEST_DATABASE_URL, else this machine's PostgreSQL on 127.0.0.1:5432, else an embedded one, in a
throwaway database seeded with artists, trained styles, tags, users and public images. Each server is its own
uvicorn process (one worker, as one API replica); the clients are aiohttp in this process (httpx's client,
tried first, topped out near 150 requests/s here and measured itself). `--think-ms 0` is
saturation (each client sends its next request when the last returns: throughput); a think time is 100 people
browsing (each waits that long, ±50%, between requests: latency at a realistic load).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx
import psutil
import psycopg

from bench.report import publish
from cluster.ports import free_port
from cluster.postgres import (
    create_database,
    drop_database,
    libpq_url,
    server_answers,
    start_embedded_postgres,
    stop_embedded_postgres,
)
from cluster.processes import stop_processes
from db.migrate import upgrade

LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
SEARCH_TERMS = ["water", "Ink", "portrait", "neon city", "artist 1", "soft", "tag 4", "studio"]
BARE_QUERY = (
    "SELECT id, user_id, style_id, created_at, like_count, comment_count FROM generation.generations "
    "WHERE is_public AND status = 'completed' ORDER BY created_at DESC, id DESC LIMIT 20"
)


def bare_app():
    """FastAPI and psycopg, nothing else: a pool of 10 connections (the API's pool size) and one query."""
    from fastapi import FastAPI

    pool: asyncio.Queue[psycopg.AsyncConnection] = asyncio.Queue()

    async def lifespan(app):
        for _ in range(10):
            pool.put_nowait(await psycopg.AsyncConnection.connect(libpq_url(os.environ["BENCH_DATABASE_URL"]),
                                                                  autocommit=True))
        yield
        while not pool.empty():
            await (pool.get_nowait()).close()

    app = FastAPI(lifespan=lifespan)

    @app.get("/newest")
    async def newest():
        connection = await pool.get()
        try:
            rows = await (await connection.execute(BARE_QUERY)).fetchall()
        finally:
            pool.put_nowait(connection)
        return {"success": True, "data": [
            {"id": r[0], "user_id": r[1], "style_id": r[2], "created_at": r[3], "like_count": r[4],
             "comment_count": r[5]} for r in rows]}

    return app


def seed_catalogue(url: str, generations: int) -> None:
    """Artists with trained styles, tags, users and public images, in bulk SQL."""
    artists, users, tags = 300, 3000, 600
    statements = [
        f"INSERT INTO auth.users (email, username, role) SELECT 'u' || g || '@bench.example', "
        f"CASE WHEN g <= {artists} THEN 'studio_' ELSE 'fan_' END || g, "
        f"CASE WHEN g <= {artists} THEN 'artist' ELSE 'user' END FROM generate_series(1, {users}) g",
        "INSERT INTO auth.artists (user_id, artist_name, verified_email) "
        "SELECT id, (ARRAY['Soft', 'Ink', 'Neon', 'Water', 'Quiet'])[1 + id % 5] || ' Artist ' || id, email "
        "FROM auth.users WHERE role = 'artist'",
        "INSERT INTO style.styles (artist_id, title, trigger_tag, generation_cost_tokens, training_status, "
        "trained_at, created_at, generation_count) "
        "SELECT a.id, t.title, lower(t.title), 10, 'completed', now() - a.id * interval '1 hour', "
        "now() - a.id * interval '1 hour', a.id % 50 FROM auth.artists a, LATERAL (SELECT (ARRAY["
        "'Watercolor Dreams', 'Ink Wash', 'Neon City', 'Soft Portrait', 'Studio Light'])[1 + a.id % 5] "
        "|| ' ' || a.id AS title) t",
        f"INSERT INTO tagging.tags (name, usage_count) SELECT (ARRAY['watercolor', 'ink', 'portrait', 'neon', "
        f"'landscape', 'anime'])[1 + g % 6] || ' tag ' || g, 0 FROM generate_series(1, {tags}) g",
        f"INSERT INTO tagging.style_tags (style_id, tag_id) SELECT s.id, 1 + (s.id * k) % {tags} "
        "FROM style.styles s, generate_series(1, 3) k ON CONFLICT DO NOTHING",
        "UPDATE tagging.tags t SET usage_count = (SELECT count(*) FROM tagging.style_tags st WHERE st.tag_id = t.id)",
        f"INSERT INTO generation.generations (user_id, style_id, status, prompt_tags, prompt, aspect_ratio, width, "
        f"height, seed, cost_tokens, is_public, result_key, thumbnail_key, created_at) "
        f"SELECT {artists} + 1 + g % ({users} - {artists}), 1 + g % {artists}, "
        f"CASE WHEN g % 10 = 0 THEN 'failed' ELSE 'completed' END, ARRAY['portrait', 'soft light'], "
        f"'portrait, soft light', '1:1', 512, 512, g, 10, g % 4 <> 0, "
        f"'public/generations/' || g || '/image.png', 'public/generations/' || g || '/thumb.webp', "
        f"now() - g * interval '1 minute' FROM generate_series(1, {generations}) g",
    ]
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.execute("VACUUM ANALYZE")


@contextmanager
def _server(target: str, env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", target, "--factory", "--port", str(port), "--log-level", "warning",
         "--no-access-log", "--loop", "uvloop", "--http", "httptools"],
        env=os.environ | env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"{target} did not start")
            time.sleep(0.2)
        yield url
    finally:
        stop_processes([psutil.Process(process.pid)], timeout=30)


@dataclass
class Result:
    requests_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int


async def _load(url: str, paths: list[str], clients: int, seconds: float, think_ms: float) -> Result:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base_url=url, connector=connector) as http:
        async def client(index: int, measured_from: float, until: float) -> None:
            nonlocal errors
            rng = random.Random(index)
            if think_ms:  # people arrive over one think time, not all in the same millisecond
                await asyncio.sleep(think_ms * rng.random() / 1000)
            while time.perf_counter() < until:
                started = time.perf_counter()
                async with http.get(rng.choice(paths)) as response:
                    await response.read()
                if started >= measured_from:
                    latencies.append(time.perf_counter() - started)
                    errors += response.status != 200
                if think_ms:
                    await asyncio.sleep(think_ms * rng.uniform(0.5, 1.5) / 1000)

        # One run per client: the first seconds warm the pools and let arrivals spread out, unmeasured.
        measured_from = time.perf_counter() + 2 + think_ms / 1000
        await asyncio.gather(*(client(i, measured_from, measured_from + seconds) for i in range(clients)))
        elapsed = time.perf_counter() - measured_from
    cuts = statistics.quantiles(latencies, n=100)
    return Result(len(latencies) / elapsed, cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000, errors)


# What the API's own stack costs (routing, middleware, session, auth, envelope) with no query at all.
STACK_ONLY = ("API stack, no query `GET /auth/csrf`", ["/api/v1/auth/csrf"])


PUBLIC_LISTS = {
    "public feed `GET /feed`": ["/api/v1/feed?limit=20"],
    "search `GET /search` (8 terms)": [f"/api/v1/search?q={term}" for term in SEARCH_TERMS],
    "style list `GET /styles`": ["/api/v1/styles?limit=20", "/api/v1/styles?limit=20&sort=popular"],
}


def run(server_url: str, clients: int, seconds: float, generations: int, think_times: list[float]) -> list[str]:
    name = f"sl_bench_{secrets.token_hex(4)}"
    url = create_database(server_url, name, exist_ok=False)
    rows = ["| load | endpoint | requests/s | p50 | p95 | p99 | errors | ÷ bare requests/s |",
            "|---|---|---:|---:|---:|---:|---:|---:|"]
    try:
        upgrade(url)
        seed_catalogue(url, generations)
        with tempfile.TemporaryDirectory() as data_dir:
            api_env = {"DATABASE_URL": url, "SL_ENV": "development", "SL_DATA_DIR": data_dir,
                       "SL_LIMITS_ENABLED": "false", "SL_RUN_RECONCILERS": "false", "SL_LOG_LEVEL": "WARNING"}
            # Anonymous pages come from the API's short-lived copy (platform_api/public_reads.py); the second
            # API renders every request, as it does for signed-in readers.
            with _server("bench.api_reads:bare_app", {"BENCH_DATABASE_URL": url}) as bare, \
                    _server("platform_api.app:create_app", api_env) as api, \
                    _server("platform_api.app:create_app", api_env | {"SL_PUBLIC_READ_CACHE_SECONDS": "0"}) as rendering:
                for think_ms in think_times:
                    pace = f"~{think_ms:g} ms between requests" if think_ms else "saturation"
                    load = f"{clients} clients, {pace}"
                    floor = asyncio.run(_load(bare, ["/newest"], clients, seconds, think_ms))
                    rows.append(_row(load, "bare FastAPI + psycopg, one indexed query", floor, floor))
                    label, paths = STACK_ONLY
                    rows.append(_row(load, label, asyncio.run(_load(api, paths, clients, seconds, think_ms)), floor))
                    for label, paths in PUBLIC_LISTS.items():
                        for server, how in [(api, "anonymous, 1 s copy"), (rendering, "rendered every request")]:
                            result = asyncio.run(_load(server, paths, clients, seconds, think_ms))
                            rows.append(_row(load, f"{label}, {how}", result, floor))
    finally:
        drop_database(server_url, name)
    return rows


def _row(load: str, label: str, result: Result, floor: Result) -> str:
    return (f"| {load} | {label} | {result.requests_per_second:,.0f} | {result.p50_ms:.1f} ms | "
            f"{result.p95_ms:.1f} ms | {result.p99_ms:.1f} ms | {result.errors} | "
            f"{result.requests_per_second / floor.requests_per_second:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=15, help="measured seconds per endpoint and load")
    parser.add_argument("--generations", type=int, default=20000, help="images seeded (3 in 4 public)")
    parser.add_argument("--think-ms", type=float, nargs="+", default=[0, 1000],
                        help="time each client waits between requests; 0 is saturation")
    arguments = parser.parse_args()

    configured = os.environ.get("TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory() as data_dir:
        if configured or server_answers(LOCAL_SERVER):
            rows = run(configured or LOCAL_SERVER, arguments.clients, arguments.seconds, arguments.generations,
                       arguments.think_ms)
        else:
            server = start_embedded_postgres(Path(data_dir))
            try:
                rows = run(server.get_uri(), arguments.clients, arguments.seconds, arguments.generations,
                           arguments.think_ms)
            finally:
                stop_embedded_postgres(server)
    publish(
        "API reads",
        f".venv/bin/python -m bench.api_reads --clients {arguments.clients} --seconds {arguments.seconds:g} "
        f"--generations {arguments.generations} --think-ms {' '.join(f'{t:g}' for t in arguments.think_ms)}",
        [
            "Each API endpoint against a bare FastAPI + psycopg endpoint (one indexed query, no envelope, no "
            "auth, no rate limit) in the same run, both one uvicorn worker on the same database; the clients "
            "share the machine. Targets: p95 < 50 ms; ≥ 0.5× the bare endpoint's requests/s.",
            "",
            *rows,
        ],
    )


if __name__ == "__main__":
    main()
