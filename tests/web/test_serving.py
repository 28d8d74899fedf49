"""platform_api/web.py: the web build at `/`, index.html for page paths, the API's own 404s elsewhere."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from core.settings import PaymentProvider
from platform_api import web
from platform_api.app import create_app

INDEX = '<!doctype html><html><head><title>Style License</title></head><body><div id="app"></div></body></html>'


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    folder = tmp_path / "dist"
    (folder / "assets").mkdir(parents=True)
    (folder / "index.html").write_text(INDEX)
    (folder / "assets" / "index-abc123.js").write_text("console.log('app')")
    (folder / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("outside the build")
    return folder


@pytest.fixture
def site(settings, dist, monkeypatch) -> TestClient:
    monkeypatch.setattr(web, "WEB_DIST", dist)
    with TestClient(create_app(settings)) as client:
        yield client


def _config(html: str) -> dict:
    content = re.search(r'<meta name="sl-config" content="([^"]+)">', html).group(1)
    return json.loads(content.replace("&quot;", '"'))


def test_pages_get_index_html_with_the_config(site):
    for path in ("/", "/ko", "/en/verify", "/me/edit", "/users/12", "/payments/success?paymentKey=x"):
        response = site.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith("text/html")
        assert '<div id="app">' in response.text
        assert response.headers["cache-control"] == "no-cache"
        assert "script-src 'self'" in response.headers["content-security-policy"]
    assert _config(site.get("/").text) == {"devSignIn": True, "googleSignIn": False, "payments": "dev"}
    assert site.head("/tokens").status_code == 200


def test_files_of_the_build_are_served_as_they_are(site):
    script = site.get("/assets/index-abc123.js")
    assert script.text == "console.log('app')"
    assert "javascript" in script.headers["content-type"]
    assert script.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert site.get("/favicon.svg").headers["cache-control"] == "public, max-age=3600"


def test_a_missing_asset_is_a_404_not_the_page(site):
    response = site.get("/assets/index-gone.js")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/api", "/media/profile/nope.png", "/_dev/nothing"])
def test_api_paths_keep_their_json_404(site, path):
    response = site.get(path)
    assert response.status_code == 404
    assert response.json()["success"] is False


def test_writes_to_page_paths_are_not_answered_with_the_page(site):
    response = site.post("/me", json={})
    assert response.status_code in (404, 405)
    assert response.json()["success"] is False


def test_nothing_outside_the_build_is_served(site):
    for path in ("/../secret.txt", "/%2e%2e/secret.txt", "/assets/../../secret.txt"):
        assert "outside the build" not in site.get(path).text


def test_the_docs_and_health_stay_the_apis(site):
    assert site.get("/openapi.json").json()["info"]["title"] == "Style License API"
    assert site.get("/healthz").status_code == 200


def test_without_a_build_pages_explain_how_to_build(settings, tmp_path, monkeypatch):
    monkeypatch.setattr(web, "WEB_DIST", tmp_path / "never-built")
    with TestClient(create_app(settings)) as client:
        response = client.get("/")
        assert response.status_code == 503 and "make run" in response.text
        assert client.get("/api/v1/nothing").json()["error"]["code"] == "NOT_FOUND"


def test_a_rebuild_shows_without_a_restart(site, dist):
    assert "v2" not in site.get("/").text
    (dist / "index.html").write_text(INDEX.replace("Style License", "Style License v2"))
    os.utime(dist / "index.html", (1, 1))  # a different mtime, whatever the clock's resolution
    assert "Style License v2" in site.get("/").text


def test_the_toss_widget_may_load_only_where_toss_takes_the_payments(settings, dist, monkeypatch):
    monkeypatch.setattr(web, "WEB_DIST", dist)
    settings.payments.provider = PaymentProvider.toss
    with TestClient(create_app(settings)) as client:
        policy = client.get("/tokens").headers["content-security-policy"]
        assert "script-src 'self' https://js.tosspayments.com;" in policy
        assert "frame-src https://*.tosspayments.com" in policy and "frame-ancestors 'none'" in policy
        assert _config(client.get("/").text)["payments"] == "toss"
    settings.payments.provider = PaymentProvider.dev
    with TestClient(create_app(settings)) as client:
        assert "tosspayments" not in client.get("/tokens").headers["content-security-policy"]
