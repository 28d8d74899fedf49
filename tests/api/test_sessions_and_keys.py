"""Development sign-in, sessions, CSRF, API keys, roles and the internal-token guard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from core.settings import AppSettings, AuthSettings, Environment, Settings
from db.models import ApiKey, Transaction, User
from platform_api.app import create_app
from platform_api.auth.principal import AdminUser, CurrentArtist, Internal, OptionalUser
from platform_api.envelope import ok
from tests.factories import make_artist
from tests.helpers import assert_error, csrf_headers, dev_login


def _guarded_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1/guarded", tags=["guarded"])

    @router.get("/optional")
    async def optional(user: OptionalUser):
        return ok({"user_id": user.id if user else None})

    @router.get("/artist")
    async def artist_only(user: CurrentArtist):
        return ok({"artist": user.artist.artist_name})

    @router.get("/admin")
    async def admin_only(user: AdminUser):
        return ok({"admin": user.id})

    @router.post("/internal")
    async def internal(source: Internal):
        return ok({"source": source})

    return router


@pytest.fixture
def app(settings: Settings):
    app = create_app(settings)
    app.include_router(_guarded_router())
    return app


@pytest.fixture
def browser(app, clean_database) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


class TestDevLogin:
    def test_first_use_creates_the_account_like_google_does(self, browser, db):
        user = dev_login(browser, "Dev@Example.com", "dev_user")
        assert (user["email"], user["username"], user["token_balance"]) == ("dev@example.com", "dev_user", 100)
        assert db.scalars(select(Transaction.memo)).all() == ["Welcome Bonus"]
        again = dev_login(browser, "dev@example.com")
        assert again["id"] == user["id"] and again["token_balance"] == 100

    def test_username_is_derived_when_not_given(self, browser):
        assert dev_login(browser, "Kim.Minji+art@example.com")["username"] == "kim_minji_art"

    def test_a_taken_username_is_409(self, browser):
        dev_login(browser, "a@example.com", "same_name")
        response = browser.post("/api/v1/auth/dev-login", json={"email": "b@example.com", "username": "same_name"},
                                headers=csrf_headers(browser))
        assert_error(response, 409, "USERNAME_TAKEN")

    @pytest.mark.parametrize(
        "body",
        [{"email": "not-an-email"}, {"email": "a@example.com", "username": "No Spaces"}, {"username": "x_y_z"},
         {"email": "a@example.com", "role": "admin"}],
    )
    def test_bad_input_is_422(self, browser, db, body):
        assert_error(browser.post("/api/v1/auth/dev-login", json=body), 422, "VALIDATION_ERROR")
        assert db.scalars(select(User)).all() == []

    @pytest.mark.parametrize("env", [Environment.development, Environment.test])
    def test_switched_off_it_is_404(self, settings, clean_database, env):
        settings.app = AppSettings(env=env)
        settings.auth = AuthSettings(dev_login=False)
        with TestClient(create_app(settings)) as client:
            assert_error(client.post("/api/v1/auth/dev-login", json={"email": "a@example.com"}), 404, "NOT_FOUND")


class TestSessions:
    def test_me_requires_a_session(self, browser):
        assert_error(browser.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")

    def test_logout_ends_the_session(self, browser):
        dev_login(browser, "a@example.com")
        token = browser.cookies.get("sl_session")
        assert browser.post("/api/v1/auth/logout", headers=csrf_headers(browser)).status_code == 200
        browser.cookies.set("sl_session", token)  # even a kept copy of the cookie is dead
        assert_error(browser.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")

    def test_a_planted_session_ends_when_the_victim_signs_in(self, browser, app):
        """Session fixation: an attacker plants their own valid session cookie in the victim's browser."""
        with TestClient(app) as attacker:
            dev_login(attacker, "attacker@example.com")
            planted = attacker.cookies.get("sl_session")
            response = browser.post("/api/v1/auth/dev-login", json={"email": "victim@example.com"},
                                    headers={"Cookie": f"sl_session={planted}; sl_csrf=x", "X-CSRF-Token": "x"})
            assert response.status_code == 200
            assert response.cookies.get("sl_session") not in (None, planted)
            assert_error(attacker.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")

    def test_optional_user_sees_anonymous_and_signed_in_callers(self, browser):
        assert browser.get("/api/v1/guarded/optional").json()["data"] == {"user_id": None}
        user = dev_login(browser, "a@example.com")
        assert browser.get("/api/v1/guarded/optional").json()["data"] == {"user_id": user["id"]}


class TestCsrf:
    def test_cookie_authenticated_writes_need_the_token(self, browser):
        dev_login(browser, "a@example.com")
        assert_error(browser.post("/api/v1/auth/logout"), 403, "CSRF_FAILED")
        assert_error(browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": "guess"}), 403, "CSRF_FAILED")
        assert browser.get("/api/v1/auth/me").status_code == 200  # refused writes changed nothing
        assert browser.post("/api/v1/auth/logout", headers=csrf_headers(browser)).status_code == 200

    def test_csrf_endpoint_returns_the_cookie_value(self, browser):
        dev_login(browser, "a@example.com")
        token = browser.get("/api/v1/auth/csrf").json()["data"]["csrf_token"]
        assert token == browser.cookies.get("sl_csrf")

    def test_sign_in_returns_a_fresh_token(self, browser):
        browser.get("/api/v1/auth/csrf")
        before = browser.cookies.get("sl_csrf")
        response = browser.post("/api/v1/auth/dev-login", json={"email": "a@example.com"})
        assert response.json()["data"]["csrf_token"] == browser.cookies.get("sl_csrf") != before


class TestApiKeys:
    def _issue(self, browser, name="nightly batch") -> dict:
        response = browser.post("/api/v1/auth/api-keys", json={"name": name}, headers=csrf_headers(browser))
        assert response.status_code == 201, response.text
        return response.json()["data"]

    def test_a_key_authenticates_without_cookies_or_csrf(self, browser, app, db):
        user = dev_login(browser, "a@example.com")
        issued = self._issue(browser)
        assert issued["key"].startswith("slk_") and issued["name"] == "nightly batch"
        listed = browser.get("/api/v1/auth/api-keys").json()["data"]
        assert [k["id"] for k in listed] == [issued["id"]] and "key" not in listed[0]
        assert db.scalars(select(ApiKey.key_hash)).one() != issued["key"]
        with TestClient(app) as script:
            bearer = {"Authorization": f"Bearer {issued['key']}"}
            assert script.get("/api/v1/auth/me", headers=bearer).json()["data"]["id"] == user["id"]
            assert script.post("/api/v1/auth/logout", headers=bearer).status_code == 200
        assert db.scalars(select(ApiKey.last_used_at)).one() is not None

    def test_a_revoked_key_stops_working(self, browser, app):
        dev_login(browser, "a@example.com")
        issued = self._issue(browser)
        assert browser.delete(f"/api/v1/auth/api-keys/{issued['id']}", headers=csrf_headers(browser)).status_code == 200
        with TestClient(app) as script:
            response = script.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued['key']}"})
            assert_error(response, 401, "UNAUTHORIZED")
        assert browser.get("/api/v1/auth/api-keys").json()["data"] == []
        assert_error(browser.delete(f"/api/v1/auth/api-keys/{issued['id']}", headers=csrf_headers(browser)),
                     404, "NOT_FOUND")

    def test_someone_elses_key_cannot_be_revoked(self, browser, app):
        dev_login(browser, "a@example.com")
        issued = self._issue(browser)
        with TestClient(app) as other:
            dev_login(other, "b@example.com")
            assert_error(other.delete(f"/api/v1/auth/api-keys/{issued['id']}", headers=csrf_headers(other)),
                         404, "NOT_FOUND")

    @pytest.mark.parametrize("header", ["Bearer slk_nope_nope", "Bearer ", "Basic abc", "Bearer random-token"])
    def test_bad_credentials_are_401(self, browser, header):
        assert_error(browser.get("/api/v1/auth/me", headers={"Authorization": header}), 401, "UNAUTHORIZED")

    def test_keys_cannot_manage_keys(self, browser, app):
        dev_login(browser, "a@example.com")
        issued = self._issue(browser)
        with TestClient(app) as script:
            bearer = {"Authorization": f"Bearer {issued['key']}"}
            assert_error(script.post("/api/v1/auth/api-keys", json={"name": "more"}, headers=bearer), 403, "FORBIDDEN")

    def test_a_deactivated_users_key_stops_working(self, browser, app, db):
        dev_login(browser, "a@example.com")
        issued = self._issue(browser)
        db.execute(update(User).values(is_active=False))
        db.commit()
        with TestClient(app) as script:
            response = script.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {issued['key']}"})
            assert_error(response, 401, "UNAUTHORIZED")

    def test_a_key_id_beyond_the_database_range_is_a_validation_error(self, browser):
        dev_login(browser, "a@example.com")
        response = browser.delete(f"/api/v1/auth/api-keys/{2**63}", headers=csrf_headers(browser))
        assert_error(response, 422, "VALIDATION_ERROR")  # was a 500: more than a BIGINT holds

    def test_name_is_required(self, browser):
        dev_login(browser, "a@example.com")
        assert_error(browser.post("/api/v1/auth/api-keys", json={"name": ""}, headers=csrf_headers(browser)),
                     422, "VALIDATION_ERROR")


class TestRoles:
    def test_artist_only_routes(self, browser, db):
        dev_login(browser, "fan@example.com")
        assert_error(browser.get("/api/v1/guarded/artist"), 403, "ARTIST_ONLY")
        user = db.scalars(select(User)).one()
        make_artist(db, user=user, artist_name="Mina")
        db.commit()
        assert browser.get("/api/v1/guarded/artist").json()["data"] == {"artist": "Mina"}

    def test_admin_only_routes(self, browser, db):
        dev_login(browser, "op@example.com")
        assert_error(browser.get("/api/v1/guarded/admin"), 403, "FORBIDDEN")
        db.execute(update(User).values(role="admin"))
        db.commit()
        assert browser.get("/api/v1/guarded/admin").status_code == 200

    def test_internal_routes_need_the_internal_token_and_a_known_source(self, browser, settings):
        token = settings.auth.internal_api_token
        assert_error(browser.post("/api/v1/guarded/internal"), 401, "UNAUTHORIZED")
        wrong = {"Authorization": "Bearer not-the-token", "X-Request-Source": "training-job"}
        assert_error(browser.post("/api/v1/guarded/internal", headers=wrong), 401, "UNAUTHORIZED")
        unknown = {"Authorization": f"Bearer {token}", "X-Request-Source": "somebody"}
        assert_error(browser.post("/api/v1/guarded/internal", headers=unknown), 403, "FORBIDDEN")
        right = {"Authorization": f"Bearer {token}", "X-Request-Source": "training-job"}
        assert browser.post("/api/v1/guarded/internal", headers=right).json()["data"] == {"source": "training-job"}

    def test_a_user_session_does_not_open_internal_routes(self, browser):
        dev_login(browser, "a@example.com")
        response = browser.post("/api/v1/guarded/internal", headers=csrf_headers(browser))
        assert_error(response, 401, "UNAUTHORIZED")
