"""API conventions: the envelope for every outcome, bad input as 4xx, one transaction per request,
request ids, languages, cursor pagination and a complete OpenAPI document."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, Field
from sqlalchemy import select

from core.settings import DatabaseSettings, Settings
from db.models import User
from platform_api import errors
from platform_api.app import create_app
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, Page, WriteModel, ok
from platform_api.errors import ApiError
from platform_api.pagination import PageParamsDep, paginate
from tests.factories import make_user
from tests.stubs.server import BackgroundServer


class EchoIn(WriteModel):
    name: str = Field(min_length=1, max_length=20)
    count: int


class UserOut(BaseModel):
    id: int
    username: str


def _probe_router() -> APIRouter:
    """Endpoints that exist only in these tests, to exercise the conventions every domain relies on."""
    router = APIRouter(prefix="/api/v1/probe", tags=["probe"])

    @router.post("/echo", response_model=Envelope[EchoIn])
    async def echo(body: EchoIn):
        return ok(body)

    @router.get("/boom")
    async def boom():
        raise RuntimeError("secret internal detail")

    @router.get("/insufficient")
    async def insufficient():
        raise ApiError(errors.INSUFFICIENT_TOKENS, details={"required": 100, "available": 50})

    @router.post("/users/{username}")
    async def create_user(username: str, session: SessionDep, fail: bool = False):
        session.add(User(email=f"{username}@example.com", username=username))
        await session.flush()
        if fail:
            raise ApiError(errors.CONFLICT)
        return ok({"username": username})

    @router.get("/users", response_model=Envelope[Page[UserOut]])
    async def list_users(session: SessionDep, page: PageParamsDep):
        result = await paginate(session, select(User), [User.created_at, User.id], page)
        return ok(Page(results=[UserOut(id=u.id, username=u.username) for u in result.rows],
                       next_cursor=result.next_cursor, has_more=result.has_more))

    return router


@pytest.fixture
def probe(settings: Settings, clean_database: None) -> Iterator[TestClient]:
    settings.app.max_json_body_bytes = 1024
    app = create_app(settings)
    app.include_router(_probe_router())
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == response.headers["x-request-id"]
    return body["error"]


def test_success_is_wrapped_in_the_envelope(probe):
    response = probe.post("/api/v1/probe/echo", json={"name": "mina", "count": 2})
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {"name": "mina", "count": 2}}


def test_health_probes(client):
    assert client.get("/healthz").json() == {"success": True, "data": {"status": "ok"}}
    assert client.get("/readyz").json() == {"success": True, "data": {"status": "ready", "database": "ok"}}


def test_readyz_is_503_when_the_database_is_unreachable(settings):
    unreachable = settings.model_copy(
        update={"database": DatabaseSettings(url="postgresql://postgres@127.0.0.1:1/nothing")}
    )
    with TestClient(create_app(unreachable)) as test_client:
        _error(test_client.get("/readyz"), 503, "SERVICE_UNAVAILABLE")


def test_unknown_route_and_wrong_method(probe):
    _error(probe.get("/api/v1/nothing-here"), 404, "NOT_FOUND")
    response = probe.delete("/api/v1/probe/echo")
    _error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize(("path", "allow"), [("/api/v1/styles", "GET, POST"), ("/api/v1/comments/7", "DELETE, PATCH"),
                                             ("/api/v1/users/me/profile-image", "DELETE, PUT"),
                                             ("/api/v1/styles/me", "GET")])  # not PATCH /styles/{style_id}
def test_allow_names_every_method_of_a_path_that_several_routes_share(probe, path, allow):
    response = probe.options(path)  # found by fuzzing: Allow named the first route's methods only
    _error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.headers["allow"] == allow


@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"name": "mina", "count": ', {"content-type": "application/json"}),  # malformed JSON
        (b'{"name": "mina", "count": "many"}', {"content-type": "application/json"}),  # wrong type
        (b'{"name": "mina", "count": 1, "admin": true}', {"content-type": "application/json"}),  # unknown field
        (b'{"name": "", "count": 1}', {"content-type": "application/json"}),  # too short
        (b"[1, 2]", {"content-type": "application/json"}),  # not an object
        (b"", {"content-type": "application/json"}),  # no body
        (b'{"name": "mi\\u0000na", "count": 1}', {"content-type": "application/json"}),  # NUL: not storable
    ],
)
def test_bad_bodies_are_validation_errors(probe, content, headers):
    error = _error(probe.post("/api/v1/probe/echo", content=content, headers=headers), 422, "VALIDATION_ERROR")
    assert error["details"]["errors"], error


def test_non_utf8_body_is_a_client_error(probe):
    response = probe.post("/api/v1/probe/echo", content=b'{"name": "\xff\xfe", "count": 1}',
                          headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500
    assert response.json()["success"] is False


def test_oversized_body_is_refused_by_declared_length(probe):
    _error(probe.post("/api/v1/probe/echo", json={"name": "x" * 2000, "count": 1}), 413, "PAYLOAD_TOO_LARGE")


def test_oversized_streamed_body_is_refused_while_reading(probe):
    def chunks():
        for _ in range(8):
            yield b" " * 512

    response = probe.post("/api/v1/probe/echo", content=chunks(), headers={"content-type": "application/json"})
    _error(response, 413, "PAYLOAD_TOO_LARGE")


SLOW_BODY = b'{"email": "slow@example.com"}'
SLOW_HEAD = (b"POST /api/v1/auth/dev-login HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
             b"Content-Length: %d\r\n\r\n" % len(SLOW_BODY))


@pytest.fixture
def impatient_api(settings, clean_database) -> Iterator[socket.socket]:
    """A connection to the API on a loopback port, which refuses a body that stops arriving for 2 s."""
    settings.app.body_stall_timeout_seconds = 2
    with (BackgroundServer(create_app(settings), lifespan=True) as server,
          socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection):
        yield connection


def test_a_slow_but_steady_body_is_read(impatient_api):
    impatient_api.sendall(SLOW_HEAD)
    for start in range(0, len(SLOW_BODY), 4):
        time.sleep(0.2)
        impatient_api.sendall(SLOW_BODY[start:start + 4])
    assert impatient_api.recv(65536).startswith(b"HTTP/1.1 200")


def test_a_stalled_body_is_refused_with_408(impatient_api):
    impatient_api.sendall(SLOW_HEAD + SLOW_BODY[:10])
    answer = impatient_api.recv(65536)  # the connection's own timeout (10 s) would raise first without the 408
    assert answer.startswith(b"HTTP/1.1 408") and b'"code":"REQUEST_TIMEOUT"' in answer


def test_unexpected_errors_are_500_without_internals(probe, caplog):
    response = probe.get("/api/v1/probe/boom")
    error = _error(response, 500, "INTERNAL_ERROR")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert any("unhandled error" in record.message for record in caplog.records)
    assert error["request_id"]


def test_application_errors_carry_status_code_and_details(probe):
    error = _error(probe.get("/api/v1/probe/insufficient"), 402, "INSUFFICIENT_TOKENS")
    assert error["details"] == {"required": 100, "available": 50}
    assert error["message"] == "Not enough tokens."


@pytest.mark.parametrize(
    ("accept_language", "message"),
    [
        ("ko-KR,ko;q=0.9,en;q=0.8", "토큰 잔액이 부족합니다."),
        ("en-US,en;q=0.9,ko;q=0.5", "Not enough tokens."),
        ("fr-FR, ko;q=0.3", "토큰 잔액이 부족합니다."),
        ("fr-FR", "Not enough tokens."),
        ("ko;q=0", "Not enough tokens."),
        ("ko;q=abc, en", "Not enough tokens."),
    ],
)
def test_error_messages_follow_accept_language(probe, accept_language, message):
    response = probe.get("/api/v1/probe/insufficient", headers={"accept-language": accept_language})
    assert response.json()["error"]["message"] == message


def test_request_id_is_taken_from_the_caller_when_well_formed(probe):
    assert probe.get("/healthz", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = probe.get("/healthz", headers={"x-request-id": "bad id\n"}).headers["x-request-id"]
    assert generated != "bad id\n" and len(generated) == 32


def test_a_request_commits_on_success_and_rolls_back_on_error(probe, db):
    assert probe.post("/api/v1/probe/users/kept").status_code == 200
    _error(probe.post("/api/v1/probe/users/dropped", params={"fail": "true"}), 409, "CONFLICT")
    assert db.scalars(select(User.username)).all() == ["kept"]


def test_cursor_pagination_walks_every_row_once_newest_first(probe, db):
    for _ in range(7):
        make_user(db)
    db.commit()
    expected = db.scalars(select(User.username).order_by(User.created_at.desc(), User.id.desc())).all()

    seen, cursor = [], None
    while True:
        params = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        page = probe.get("/api/v1/probe/users", params=params).json()["data"]
        seen += [row["username"] for row in page["results"]]
        if not page["has_more"]:
            assert page["next_cursor"] is None
            break
        cursor = page["next_cursor"]
    assert seen == expected


@pytest.mark.parametrize("cursor", ["not-base64!!", "W10", "eyJ0IjogMX0", "WyJ4Il0"])
def test_a_forged_cursor_is_a_400(probe, cursor):
    _error(probe.get("/api/v1/probe/users", params={"cursor": cursor}), 400, "INVALID_CURSOR")


def test_page_size_is_bounded(probe):
    _error(probe.get("/api/v1/probe/users", params={"limit": 1000}), 422, "VALIDATION_ERROR")


def test_openapi_declares_the_error_envelope_on_every_operation(client):
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    operation_ids = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            operation_ids.append(operation["operationId"])
            for status in ("422", "500"):
                schema = operation["responses"][status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (path, method, status)
    assert len(operation_ids) == len(set(operation_ids))
    assert client.get("/docs").status_code == 200
