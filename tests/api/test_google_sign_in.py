"""Google sign-in against a local OpenID Connect provider speaking the real protocol."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from core.settings import AuthSettings, Settings
from db.engine import create_api_engine, create_session_factory
from db.models import Transaction, User
from platform_api.app import create_app
from platform_api.auth.accounts import Identity as AccountIdentity
from platform_api.auth.accounts import sign_in
from tests.helpers import assert_error
from tests.stubs.oidc_provider import Identity, OidcProvider
from tests.stubs.server import BackgroundServer, free_port


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    port = free_port()
    stub = OidcProvider(issuer=f"http://127.0.0.1:{port}")
    with BackgroundServer(stub.app(), port=port):
        yield stub


@pytest.fixture
def google_settings(settings: Settings, provider: OidcProvider) -> Settings:
    settings.app.public_url = "http://testserver"
    settings.auth = AuthSettings(
        google_client_id=provider.client_id,
        google_client_secret=provider.client_secret,
        oidc_discovery_url=f"{provider.issuer}/.well-known/openid-configuration",
        frontend_url="/welcome",
    )
    return settings


@pytest.fixture
def app(google_settings: Settings):
    return create_app(google_settings)


@pytest.fixture
def browser(app, clean_database) -> Iterator[TestClient]:
    with TestClient(app, follow_redirects=False) as client:
        yield client


@pytest.fixture(autouse=True)
def reset_provider(provider: OidcProvider):
    provider.next_identity = Identity(sub="g-100", email="Mina@Example.com")
    provider.sign_with_foreign_key = False


def _to_provider(browser: TestClient, next_path: str | None = None) -> str:
    """Start sign-in; returns the callback path+query the provider redirects the browser to."""
    params = {"next": next_path} if next_path else {}
    start = browser.get("/api/v1/auth/google/login", params=params)
    assert start.status_code == 302, start.text
    authorize = urlsplit(start.headers["location"])
    query = parse_qs(authorize.query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    at_provider = httpx.get(start.headers["location"], follow_redirects=False)
    assert at_provider.status_code == 302, at_provider.text
    callback = urlsplit(at_provider.headers["location"])
    assert callback.path == "/api/v1/auth/google/callback"
    return f"{callback.path}?{callback.query}"


def _users(db) -> list[User]:
    db.expire_all()
    return list(db.scalars(select(User)))


def test_first_sign_in_creates_the_account_with_the_welcome_bonus(browser, db):
    done = browser.get(_to_provider(browser))

    assert done.status_code == 302 and done.headers["location"] == "/welcome"
    cookie = next(c for c in done.headers.get_list("set-cookie") if c.startswith("sl_session="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Max-Age=1209600" in cookie
    me = browser.get("/api/v1/auth/me").json()["data"]
    assert me["email"] == "mina@example.com" and me["token_balance"] == 100 and me["role"] == "user"
    bonus = db.scalars(select(Transaction)).one()
    assert (bonus.kind, bonus.sender_id, bonus.receiver_id, bonus.amount, bonus.status, bonus.memo) == (
        "welcome_bonus", None, me["id"], 100, "completed", "Welcome Bonus"
    )


def test_signing_in_again_finds_the_same_account_and_grants_nothing(browser, app, db):
    browser.get(_to_provider(browser))
    with TestClient(app, follow_redirects=False) as other_device:
        other_device.get(_to_provider(other_device))
        assert other_device.get("/api/v1/auth/me").json()["data"]["token_balance"] == 100
    assert len(_users(db)) == 1
    assert len(db.scalars(select(Transaction)).all()) == 1


def test_sign_in_lands_on_a_safe_next_path_only(browser):
    assert browser.get(_to_provider(browser, "/styles/7")).headers["location"] == "/styles/7"
    for unsafe in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        assert browser.get(_to_provider(browser, unsafe)).headers["location"] == "/welcome"


def test_state_from_another_browser_is_refused(browser, app, db):
    callback = _to_provider(browser)
    with TestClient(app, follow_redirects=False) as attacker:
        attacker.get("/api/v1/auth/google/login")  # the attacker has a state of their own
        assert_error(attacker.get(callback), 400, "SIGN_IN_FAILED")
    assert _users(db) == []


def test_id_token_signed_by_a_foreign_key_is_refused(browser, provider, db):
    provider.sign_with_foreign_key = True
    assert_error(browser.get(_to_provider(browser)), 400, "SIGN_IN_FAILED")
    assert _users(db) == []


def test_unverified_email_is_refused(browser, provider, db):
    provider.next_identity = Identity(sub="g-200", email="new@example.com", email_verified=False)
    assert_error(browser.get(_to_provider(browser)), 403, "EMAIL_NOT_VERIFIED")
    assert _users(db) == []


def test_a_replayed_code_is_refused(browser, db):
    callback = _to_provider(browser)
    state_cookie = browser.cookies.get("sl_oauth")
    assert browser.get(callback).status_code == 302
    browser.cookies.set("sl_oauth", state_cookie)  # replay the very same callback, state cookie included
    assert_error(browser.get(callback), 400, "SIGN_IN_FAILED")
    assert len(_users(db)) == 1


def test_a_callback_without_a_sign_in_is_refused(browser):
    assert_error(browser.get("/api/v1/auth/google/callback?code=x&state=y"), 400, "SIGN_IN_FAILED")
    assert_error(browser.get("/api/v1/auth/google/callback"), 400, "SIGN_IN_FAILED")


def test_a_deactivated_account_cannot_sign_in(browser, db):
    browser.get(_to_provider(browser))
    db.execute(User.__table__.update().values(is_active=False))
    db.commit()
    assert_error(browser.get(_to_provider(browser)), 403, "ACCOUNT_DEACTIVATED")


def test_sign_in_rotates_the_session(browser, db):
    browser.get(_to_provider(browser))
    first = browser.cookies.get("sl_session")
    browser.get(_to_provider(browser))
    second = browser.cookies.get("sl_session")
    assert first != second
    with TestClient(browser.app) as stale:
        stale.cookies.set("sl_session", first)
        assert_error(stale.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")


def test_without_google_credentials_sign_in_is_unavailable(client):
    assert_error(client.get("/api/v1/auth/google/login", follow_redirects=False), 503, "SIGN_IN_UNAVAILABLE")


def test_concurrent_first_sign_ins_create_one_account_and_one_bonus(settings, db, clean_database):
    """Two tabs finishing their first Google sign-in at the same moment."""

    async def race() -> set[int]:
        engine = create_api_engine(settings.database)
        factory = create_session_factory(engine)

        async def one_sign_in() -> int:
            async with factory() as session, session.begin():
                user = await sign_in(session, AccountIdentity(email="race@example.com", google_sub="g-race"))
                return user.id

        try:
            return set(await asyncio.gather(*(one_sign_in() for _ in range(12))))
        finally:
            await engine.dispose()

    assert len(asyncio.run(race())) == 1
    user = db.scalars(select(User)).one()
    assert user.token_balance == 100
    assert len(db.scalars(select(Transaction).where(Transaction.kind == "welcome_bonus")).all()) == 1
