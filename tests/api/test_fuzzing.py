"""API fuzzing (spec §10): schemathesis reads the live OpenAPI document of the real app, served by uvicorn on
a loopback port, and sends generated requests (valid and invalid) to every operation, then follows the links
it infers between them (an id one answer returns, used in the next request). Besides its own values it mixes
in the hostile ones of schemathesis.toml (NUL characters, numbers beyond BIGINT...). It does so three times:
as an anonymous visitor, as a browser signed in with a session (cookie and X-CSRF-Token) and as a script with
an API key. Every answer must be a status the operation documents, never a 5xx, with the declared content
type and a body that matches the declared schema; a 405 must name every method the path takes.

CI runs a short profile: FUZZ_EXAMPLES cases per operation and phase, from a fixed seed, so a run is
reproducible. `SL_FUZZ_EXAMPLES=200 pytest tests/api/test_fuzzing.py` explores further (docs/reliability.md; add
`--timeout 0` beyond that, when a caller's run outlasts pytest's 300 s limit).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from core.settings import AuthSettings
from db.models import User
from platform_api.app import create_app
from tests.factories import make_artist, make_generation, make_style
from tests.helpers import settings_for_tests, truncate_all
from tests.stubs.compute import without_ray
from tests.stubs.oidc_provider import OidcProvider
from tests.stubs.server import BackgroundServer, free_port

FUZZ_EXAMPLES = int(os.environ.get("SL_FUZZ_EXAMPLES", "5"))
FUZZ_SEED = int(os.environ.get("SL_FUZZ_SEED", "20261127"))
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,"
          "allow_header_conformance")
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
HOSTILE_VALUES = Path(__file__).with_name("schemathesis.toml")
# Operations that end the caller's own session or account: fuzzed anonymously, and with real callers in
# test_authorization_matrix.py, but not here, where they would sign the fuzzing caller out halfway.
SIGNS_OUT = ("auth-logout", "auth-dev_login", "auth-google_callback", "users-delete_me")


@dataclass(frozen=True)
class Caller:
    headers: dict[str, str]
    excluded_operations: tuple[str, ...] = ()


@pytest.fixture(scope="module")
def google(tmp_path_factory) -> Iterator[OidcProvider]:
    """Google sign-in configured (the local OpenID provider), so its routes answer as in production."""
    port = free_port()
    provider = OidcProvider(issuer=f"http://127.0.0.1:{port}")
    with BackgroundServer(provider.app(), port=port):
        yield provider


@pytest.fixture(scope="module")
def live_api(database_url: str, sync_engine: Engine, google: OidcProvider, tmp_path_factory) -> Iterator[str]:
    settings = settings_for_tests(database_url, tmp_path_factory.mktemp("fuzzed-api"))
    settings.auth = AuthSettings(
        google_client_id=google.client_id,
        google_client_secret=google.client_secret,
        oidc_discovery_url=f"{google.issuer}/.well-known/openid-configuration",
    )
    with BackgroundServer(without_ray(create_app(settings)), lifespan=True) as server:
        yield server.url
    truncate_all(sync_engine)


@pytest.fixture(scope="module")
def callers(live_api: str, sync_engine: Engine) -> dict[str, Caller]:
    """An artist with a trained style, a public image and a session; a fan with an API key; a visitor."""
    with httpx.Client(base_url=f"{live_api}/api/v1") as browser:
        browser.post("/auth/dev-login", json={"email": "fan@example.com"}).raise_for_status()
        csrf = {"X-CSRF-Token": browser.cookies["sl_csrf"]}
        key = browser.post("/auth/api-keys", json={"name": "fuzz"}, headers=csrf).raise_for_status().json()
        browser.cookies.clear()
        signed_in = browser.post("/auth/dev-login", json={"email": "painter@example.com"}).raise_for_status()
    with Session(sync_engine) as db:
        artist = make_artist(db, user=db.get(User, signed_in.json()["data"]["user"]["id"]))
        make_generation(db, style=make_style(db, artist=artist, training_status="completed"))
        db.commit()
    session, token = browser.cookies["sl_session"], browser.cookies["sl_csrf"]
    return {
        "anonymous": Caller(headers={}),
        "session": Caller(headers={"Cookie": f"sl_session={session}; sl_csrf={token}", "X-CSRF-Token": token},
                          excluded_operations=SIGNS_OUT),
        "api_key": Caller(headers={"Authorization": f"Bearer {key['data']['key']}"},
                          excluded_operations=("users-delete_me",)),
    }


def _schemathesis(url: str, caller: Caller, report: Path) -> subprocess.CompletedProcess:
    command = [
        str(SCHEMATHESIS), "--config-file", str(HOSTILE_VALUES), "run", f"{url}/openapi.json",
        "--checks", CHECKS,
        "--max-examples", str(FUZZ_EXAMPLES), "--seed", str(FUZZ_SEED), "--workers", "1",
        "--phases", "examples,coverage,fuzzing,stateful", "--generation-database", "none",
        "--no-color", "--report", "json", "--report-json-path", str(report),
    ]
    for name, value in caller.headers.items():
        command += ["--header", f"{name}: {value}"]
    for operation_id in caller.excluded_operations:
        command += ["--exclude-operation-id", operation_id]
    return subprocess.run(command, cwd=report.parent, capture_output=True, text=True)


@pytest.mark.parametrize("caller_name", ["anonymous", "session", "api_key"])
def test_generated_requests_get_documented_answers_and_never_a_server_error(live_api, callers, caller_name,
                                                                          tmp_path):
    caller = callers[caller_name]
    report = tmp_path / "report.json"
    run = _schemathesis(live_api, caller, report)
    # On failure: schemathesis' report, a curl command reproducing each failure.
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-2_000:]
    summary = json.loads(report.read_text())
    operations = summary["operations"]
    assert operations["tested"] == operations["total"] - len(caller.excluded_operations) > 50, operations
    assert operations["errored"] == 0 and summary["test_cases"]["generated"] > 1000, summary["test_cases"]
