"""The web app in a real browser against the stack with Ray (`ray_web_stack` in tests/web/conftest.py): a style
trains as a Ray Job and its artist is notified; a fan generates on the generation Serve app, watches the
request and downloads the image. Both on the tiny model; screenshots in web/e2e/screenshots."""

from __future__ import annotations

import asyncio

from platform_api.tokens.audit import audit_database


def test_an_artist_creates_a_style_watches_it_train_and_is_notified(run_browser_spec_on_ray):
    run_browser_spec_on_ray("training")


def test_a_fan_generates_watches_progress_and_downloads_the_png(run_browser_spec_on_ray, generation_app,
                                                                ray_web_stack):
    run_browser_spec_on_ray("generate")
    assert asyncio.run(audit_database(ray_web_stack.database_url)) == []  # charged once, the artist paid
