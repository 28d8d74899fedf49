"""Load on the whole running platform: simulated people browsing the feed, styles and search, opening images,
liking, commenting and generating on the tiny model, each waiting about a second between actions; latency
per route (p50/p95/p99), errors and throughput for each crowd size.

    .venv/bin/python -m bench.load [--users 100 500] [--seconds 30]          # starts `make run`'s stack
    .venv/bin/python -m bench.load --url http://localhost:8000 --database-url postgresql://...  # a running one

Without --url it runs the launcher (`python -m cluster.local`: Ray head, both Serve applications, the API
behind Serve's proxy) on a throwaway database of this machine's PostgreSQL, seeded with bench/api_reads.py's
catalogue and a style whose adapter is in storage. Rate limits are off: the crowd shares one IP address.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import httpx
import psycopg
from yarl import URL

from bench.api_reads import LOCAL_SERVER, SEARCH_TERMS, seed_catalogue
from bench.report import publish
from cluster.postgres import create_database, drop_database, libpq_url
from db.migrate import upgrade

# The style generations are made in (it gets an adapter), and how often each action is taken.
GENERATION_STYLE_ID = 1
ACTIONS = {"feed": 40, "styles": 18, "search": 14, "image": 12, "like": 6, "comment": 5, "generate": 5}
# Targets: the spec's (every route) and ours (reads).
SPEC_P95_MS, READ_P95_MS = 500, 50
READS = ("feed", "styles", "search", "image")


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    server_errors: int = 0
    seconds: float = 0.0


def seed(database_url: str, data_dir: Path, images: int = 2000) -> None:
    """The catalogue, and an adapter for GENERATION_STYLE_ID in the stack's storage."""
    import torch
    from diffusers import UNet2DConditionModel

    from core.diffusion import build_tiny_model
    from tests.serving.styles import adapter_key, random_adapter

    seed_catalogue(database_url, images)
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        unet = UNet2DConditionModel.from_pretrained(build_tiny_model(Path(folder)) / "unet")
        adapter = random_adapter(unet, seed=1)
    key = adapter_key(GENERATION_STYLE_ID)
    path = data_dir / "objects" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(adapter)
    with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
        connection.execute("UPDATE style.styles SET adapter_key = %s, generation_cost_tokens = 1 WHERE id = %s",
                           [key, GENERATION_STYLE_ID])


async def _person(http: aiohttp.ClientSession, url: str, index: int, until: float, think_ms: float,
                  results: Results, image_ids: list[int]) -> None:
    rng = random.Random(index)
    async with http.post("/api/v1/auth/dev-login", json={"email": f"crowd{index}@load.example"}) as response:
        response.raise_for_status()
    csrf = {"X-CSRF-Token": http.cookie_jar.filter_cookies(URL(url))["sl_csrf"].value}
    names, weights = list(ACTIONS), list(ACTIONS.values())
    await asyncio.sleep(think_ms * rng.random() / 1000)  # people arrive over one think time
    while time.monotonic() < until:
        action = rng.choices(names, weights)[0]
        image = rng.choice(image_ids)
        method, path, body = {
            "feed": ("GET", "/api/v1/feed?limit=20", None),
            "styles": ("GET", "/api/v1/styles?limit=20", None),
            "search": ("GET", f"/api/v1/search?q={rng.choice(SEARCH_TERMS)}", None),
            "image": ("GET", f"/api/v1/generations/{image}", None),
            "like": ("POST", f"/api/v1/generations/{image}/like", None),
            "comment": ("POST", f"/api/v1/generations/{image}/comments", {"content": f"Lovely {rng.random():.3f}"}),
            "generate": ("POST", "/api/v1/generations",
                         {"style_id": GENERATION_STYLE_ID, "prompt_tags": [f"lake {rng.randrange(50)}"]}),
        }[action]
        started = time.monotonic()
        async with http.request(method, path, json=body, headers=csrf) as response:
            await response.read()
        results.latencies[action].append(time.monotonic() - started)
        if response.status >= 400:
            results.errors[action] += 1
            results.server_errors += response.status >= 500
        await asyncio.sleep(think_ms * rng.uniform(0.5, 1.5) / 1000)


async def drive(url: str, users: int, seconds: float, think_ms: float, image_ids: list[int]) -> Results:
    """`users` people (each their own cookies) for `seconds` after everyone has arrived."""
    results = Results()
    sessions = [aiohttp.ClientSession(base_url=url, cookie_jar=aiohttp.CookieJar(unsafe=True)) for _ in range(users)]
    try:
        until = time.monotonic() + think_ms / 1000 + seconds
        started = time.monotonic()
        await asyncio.gather(*(_person(s, url, i, until, think_ms, results, image_ids) for i, s in enumerate(sessions)))
        results.seconds = time.monotonic() - started
    finally:
        await asyncio.gather(*(session.close() for session in sessions))
    return results


def public_image_ids(database_url: str, count: int = 200) -> list[int]:
    with psycopg.connect(libpq_url(database_url)) as connection:
        return [row[0] for row in connection.execute(
            "SELECT id FROM generation.generations WHERE is_public AND status = 'completed' ORDER BY id LIMIT %s",
            [count])]


def rows(users: int, results: Results) -> list[str]:
    lines = []
    for action in ACTIONS:
        latencies = results.latencies.get(action)
        if not latencies or len(latencies) < 2:
            continue
        cuts = statistics.quantiles(latencies, n=100)
        target = READ_P95_MS if action in READS else SPEC_P95_MS
        lines.append(f"| {users} | {action} | {len(latencies) / results.seconds:,.1f} | {cuts[49] * 1000:.0f} ms | "
                     f"{cuts[94] * 1000:.0f} ms | {cuts[98] * 1000:.0f} ms | {results.errors.get(action, 0)} | "
                     f"{'yes' if cuts[94] * 1000 < target else 'no'} (< {target} ms) |")
    return lines


@contextmanager
def local_stack(database_url: str, data_dir: Path) -> Iterator[str]:
    """`make run`'s launcher on `database_url`, answering on a free port."""
    port = _free_port()
    env = os.environ | {
        "DATABASE_URL": database_url, "SL_DATA_DIR": str(data_dir), "SL_PORT": str(port), "SL_ENV": "development",
        "SL_LIMITS_ENABLED": "false", "SL_LOG_LEVEL": "WARNING", "SL_RAY_DASHBOARD_PORT": str(_free_port()),
        "SL_RAY_GCS_PORT": str(_free_port()), "SL_DIFFUSION_INFERENCE_STEPS": "4",
    }
    log = (data_dir / "launcher.log").open("w")
    process = subprocess.Popen([sys.executable, "-m", "cluster.local"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 300
        while "Style License is running" not in (data_dir / "launcher.log").read_text():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"the stack did not start; see {data_dir / 'launcher.log'}")
            time.sleep(1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per crowd")
    parser.add_argument("--think-ms", type=float, default=1000)
    parser.add_argument("--url", help="a running stack (then --database-url names its database)")
    parser.add_argument("--database-url")
    arguments = parser.parse_args()

    def measure(url: str, database_url: str) -> list[str]:
        image_ids = public_image_ids(database_url)
        table = []
        for users in arguments.users:
            results = asyncio.run(drive(url, users, arguments.seconds, arguments.think_ms, image_ids))
            table += rows(users, results)
            table.append(f"| {users} | all | {sum(map(len, results.latencies.values())) / results.seconds:,.1f} "
                         f"| | | | {sum(results.errors.values())} ({results.server_errors} 5xx) | |")
        return table

    if arguments.url:
        table = measure(arguments.url, arguments.database_url)
    else:
        name = f"sl_load_{secrets.token_hex(4)}"
        database_url = create_database(LOCAL_SERVER, name, exist_ok=False)
        try:
            upgrade(database_url)
            with tempfile.TemporaryDirectory() as folder:
                seed(database_url, Path(folder))
                with local_stack(database_url, Path(folder)) as url:
                    table = measure(url, database_url)
        finally:
            drop_database(LOCAL_SERVER, name)
    publish("Load on the running platform", "python -m bench.load " + " ".join(sys.argv[1:]), [
        f"Each simulated person signs in, then every ~{arguments.think_ms:g} ms (±50 %) takes one action: "
        f"{', '.join(f'{a} {w} %' for a, w in ACTIONS.items())}. `make run`'s stack on this machine (one API "
        "replica behind Serve's proxy, one CPU generation replica drawing the tiny model); the crowd runs on "
        "the same 2 cores. Errors are responses ≥ 400 (402: a person out of tokens). Targets: the spec's "
        f"p95 < {SPEC_P95_MS} ms for every route at 100 people; ours p95 < {READ_P95_MS} ms for reads.",
        "",
        "| people | route | requests/s | p50 | p95 | p99 | errors | p95 on target |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
        *table,
    ])


if __name__ == "__main__":
    main()
