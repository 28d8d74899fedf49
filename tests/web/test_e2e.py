"""The web app in a real browser against the real API (web/e2e/*.mjs; screenshots in web/e2e/screenshots)."""

from __future__ import annotations

import re

import httpx


def test_the_build_has_no_inline_script(web_build):
    """The CSP allows scripts from this origin only: every <script> of index.html must have a src."""
    html = (web_build / "index.html").read_text()
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts)


def test_the_api_serves_the_app_with_its_config(web_stack):
    page = httpx.get(f"{web_stack.url}/ko/tokens")
    assert page.status_code == 200 and '<div id="app">' in page.text
    assert 'name="sl-config"' in page.text and "script-src 'self'" in page.headers["content-security-policy"]
    assert httpx.get(f"{web_stack.url}/api/v1/nothing").json()["error"]["code"] == "NOT_FOUND"


def test_google_sign_in_through_the_local_openid_provider(run_browser_spec):
    run_browser_spec("google")


def test_account_pages_profile_artist_and_languages(run_browser_spec):
    run_browser_spec("account")


def test_buying_tokens_through_the_dev_checkout(run_browser_spec):
    run_browser_spec("payments")


def test_verify_page(run_browser_spec):
    run_browser_spec("verify")


def test_feed_likes_comments_follows_search_and_notifications(run_browser_spec):
    run_browser_spec("community")


def test_style_pages(run_browser_spec):
    run_browser_spec("styles")
