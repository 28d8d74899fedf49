"""Load on the whole running platform: simulated people browsing the feed, styles and search, opening images,
liking, commenting and generating on the tiny model, each waiting about a second between actions; latency
per route (p50/p95/p99), errors and throughput for each crowd size and each ingress.

    .venv/bin/python -m bench.load [--users 100 500] [--seconds 30] [--ingress proxy haproxy]  # `make run`'s stack
    .venv/bin/python -m bench.load --url http://localhost:8000 --database-url postgresql://...  # a running one

Without --url it runs the launcher (`python -m cluster.local`: Ray head, both Serve applications) once per
ingress, each on a fresh database of this machine's PostgreSQL seeded with bench/api_reads.py's catalogue and a
style whose adapter is in storage: `proxy` is Serve's Python proxy (`make run`'s default), `haproxy` Ray Serve's
high-throughput ingress (cluster.ray_head.HAPROXY_INGRESS). Rate limits are off: the crowd shares one address.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import psycopg
from yarl import URL

from bench.api_reads import LOCAL_SERVER, SEARCH_TERMS, seed_catalogue
from bench.report import publish
from cluster.local_process import LocalPlatform
from cluster.postgres import create_database, drop_database, libpq_url
from cluster.ray_head import HAPROXY_INGRESS
from db.migrate import upgrade

# The style generations are made in (it gets an adapter), and how often each action is taken.
GENERATION_STYLE_ID = 1
ACTIONS = {"feed": 40, "styles": 18, "search": 14, "image": 12, "like": 6, "comment": 5, "generate": 5}
# Targets: the spec's (every route) and ours (reads).
SPEC_P95_MS, READ_P95_MS = 500, 50
READS = ("feed", "styles", "search", "image")
# The environment of the launcher (and so of its Ray head) for each ingress measured.
INGRESSES = {"proxy": {}, "haproxy": HAPROXY_INGRESS}


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


def rows(ingress: str, users: int, results: Results) -> list[str]:
    lines = []
    for action in ACTIONS:
        latencies = results.latencies.get(action)
        if not latencies or len(latencies) < 2:
            continue
        cuts = statistics.quantiles(latencies, n=100)
        target = READ_P95_MS if action in READS else SPEC_P95_MS
        lines.append(f"| {ingress} | {users} | {action} | {len(latencies) / results.seconds:,.1f} | {cuts[49] * 1000:.0f} ms | "
                     f"{cuts[94] * 1000:.0f} ms | {cuts[98] * 1000:.0f} ms | {results.errors.get(action, 0)} | "
                     f"{'yes' if cuts[94] * 1000 < target else 'no'} (< {target} ms) |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100, 500])
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds per crowd")
    parser.add_argument("--think-ms", type=float, default=1000)
    parser.add_argument("--ingress", nargs="+", choices=INGRESSES, default=list(INGRESSES))
    parser.add_argument("--url", help="a running stack (then --database-url names its database)")
    parser.add_argument("--database-url")
    arguments = parser.parse_args()

    def measure(ingress: str, url: str, database_url: str) -> list[str]:
        image_ids = public_image_ids(database_url)
        table = []
        for users in arguments.users:
            results = asyncio.run(drive(url, users, arguments.seconds, arguments.think_ms, image_ids))
            table += rows(ingress, users, results)
            table.append(f"| {ingress} | {users} | all | "
                         f"{sum(map(len, results.latencies.values())) / results.seconds:,.1f} "
                         f"| | | | {sum(results.errors.values())} ({results.server_errors} 5xx) | |")
        return table

    if arguments.url:
        table = measure("as running", arguments.url, arguments.database_url)
    else:
        table = []
        for ingress in arguments.ingress:
            with _seeded_database() as (database_url, data_dir):
                with LocalPlatform(data_dir, database_url=database_url, SL_LIMITS_ENABLED="false",
                                   SL_LOG_LEVEL="WARNING", SL_DIFFUSION_INFERENCE_STEPS="4",
                                   **INGRESSES[ingress]) as platform:
                    table += measure(ingress, platform.url, database_url)
    publish("Load on the running platform", "python -m bench.load " + " ".join(sys.argv[1:]), [
        f"Each simulated person signs in, then every ~{arguments.think_ms:g} ms (±50 %) takes one action: "
        f"{', '.join(f'{a} {w} %' for a, w in ACTIONS.items())}. `make run`'s stack on this machine (one API "
        "replica, one CPU generation replica drawing the tiny model at a lower CPU priority); the crowd runs on "
        "the same 2 cores. Ingress `proxy`: Serve's Python HTTP proxy (`make run`'s default); `haproxy`: Ray "
        "Serve's high-throughput mode, HAProxy sending requests straight to the API replica. Errors are "
        f"responses ≥ 400 (402: a person out of tokens). Targets: the spec's p95 < {SPEC_P95_MS} ms for every "
        f"route at 100 people; ours p95 < {READ_P95_MS} ms for reads.",
        "",
        "| ingress | people | route | requests/s | p50 | p95 | p99 | errors | p95 on target |",
        "|---|---:|---|---:|---:|---:|---:|---:|---|",
        *table,
    ])


@contextmanager
def _seeded_database() -> Iterator[tuple[str, Path]]:
    """A fresh database with the catalogue, and a data folder with the generation style's adapter."""
    name = f"sl_load_{secrets.token_hex(4)}"
    database_url = create_database(LOCAL_SERVER, name, exist_ok=False)
    try:
        upgrade(database_url)
        with tempfile.TemporaryDirectory() as folder:
            seed(database_url, Path(folder))
            yield database_url, Path(folder)
    finally:
        drop_database(LOCAL_SERVER, name)


if __name__ == "__main__":
    main()
