"""Small steps many API tests share."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient

from core.settings import (
    AppSettings,
    AuthSettings,
    DatabaseSettings,
    Environment,
    PaymentProvider,
    PaymentSettings,
    ProvenanceSettings,
    Settings,
    StorageSettings,
)


def csrf_headers(client: TestClient) -> dict[str, str]:
    return {"X-CSRF-Token": client.cookies.get("sl_csrf", "")}


def dev_login(client: TestClient, email: str, username: str | None = None) -> dict:
    """Sign `client` in through the development sign-in; returns the signed-in user."""
    body = {"email": email} | ({"username": username} if username else {})
    response = client.post("/api/v1/auth/dev-login", json=body, headers=csrf_headers(client))
    assert response.status_code == 200, response.text
    return response.json()["data"]["user"]


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    return body["error"]


def production_settings(database_url: str = "postgresql://db.internal/style_license", **sections) -> Settings:
    """Settings that pass every production check; pass sections to make one of them unsafe."""
    strong = "x" * 48
    values = {
        "app": AppSettings(env=Environment.production, secret_key=strong),
        "database": DatabaseSettings(url=database_url),
        "storage": StorageSettings(url_signing_key=strong),
        "provenance": ProvenanceSettings(
            c2pa_certificate_chain_path=Path("/run/secrets/c2pa/chain.pem"),
            c2pa_private_key_path=Path("/run/secrets/c2pa/key.pem"),
            c2pa_trust_anchors_path=Path("/run/secrets/c2pa/anchors.pem"),
            watermark_key=strong,
        ),
        "auth": AuthSettings(dev_login=False, session_cookie_secure=True, internal_api_token=strong),
        "payments": PaymentSettings(provider=PaymentProvider.toss),
    } | sections
    return Settings(**values)
