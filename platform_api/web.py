"""The web app (the Vite build in web/dist) served by the API at `/`.

Files of the build are served as they are; every other page path gets index.html so the Vue router can show
it (SPA fallback). Paths that belong to the API (`/api`, the media prefix, `/docs`, `/openapi.json`, the dev
payment server...) never fall back: their 404s stay the API's JSON envelope.

It hooks the router's `default` (what Starlette runs when no route matched) rather than adding a catch-all
route, so routers included after it keep working and nothing here depends on the order of `create_app`.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from fastapi import FastAPI
from starlette.responses import FileResponse, HTMLResponse, Response
from starlette.types import Receive, Scope, Send

from core.settings import Environment, Settings

WEB_DIST = Path(__file__).resolve().parent.parent / "web" / "dist"
# Paths the web app never answers, besides the media prefix from the storage settings.
API_PATHS = ("/api", "/docs", "/redoc", "/openapi.json", "/_dev", "/healthz", "/readyz")
HASHED_ASSETS = "/assets/"
IMMUTABLE = "public, max-age=31536000, immutable"  # file names carry a content hash
SHORT_CACHE = "public, max-age=3600"
REVALIDATE = "no-cache"  # index.html names the current assets: always check for a newer one
NOT_BUILT = (
    "<!doctype html><meta charset=utf-8><title>Style License</title>"
    "<p>The web app is not built. Run <code>make run</code> (or <code>cd web &amp;&amp; npm ci &amp;&amp; "
    "npm run build</code>).</p>"
)


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix.rstrip("/") + "/")


def _existing_file(root: Path, relative: str) -> Path | None:
    """The file of the build at `relative`, never one outside it (`..`, links, odd names)."""
    try:
        candidate = (root / relative).resolve()
        return candidate if candidate.is_relative_to(root) and candidate.is_file() else None
    except (OSError, ValueError):  # a name too long, a NUL byte
        return None


def web_config(app: FastAPI) -> dict:
    """What the app shows, decided by the server: the sign-in buttons and the payment flow that work here."""
    settings: Settings = app.state.settings
    return {
        "devSignIn": settings.app.env is not Environment.production and settings.auth.dev_login,
        "googleSignIn": app.state.google is not None,
        "payments": settings.payments.provider.value,
    }


class _IndexPage:
    """index.html with the app's config in a <meta> tag (the CSP allows no inline script); re-read when the
    build changes, so a rebuild shows without a restart."""

    def __init__(self, path: Path, config: dict):
        self.path = path
        self.meta = f'<meta name="sl-config" content="{html.escape(json.dumps(config), quote=True)}">'
        self._cached: tuple[float, str] | None = None

    def body(self) -> str | None:
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return None
        if self._cached is None or self._cached[0] != mtime:
            text = self.path.read_text(encoding="utf-8")
            self._cached = (mtime, text.replace("</head>", f"    {self.meta}\n  </head>", 1))
        return self._cached[1]


def serve_web_app(app: FastAPI, dist: Path | None = None) -> None:
    """Serve the web build at `/` with SPA fallback (called once by `create_app`)."""
    root = (dist or WEB_DIST).resolve()
    media_prefix = app.state.settings.storage.local_url_prefix
    reserved = (*API_PATHS, media_prefix)
    index = _IndexPage(root / "index.html", web_config(app))
    not_found = app.router.default

    def response_for(path: str) -> Response | None:
        relative = path.lstrip("/")
        if relative:
            candidate = _existing_file(root, relative)
            if candidate is not None:
                cache = IMMUTABLE if path.startswith(HASHED_ASSETS) else SHORT_CACHE
                return FileResponse(candidate, headers={"Cache-Control": cache})
            if path.startswith(HASHED_ASSETS):
                return None  # a missing script must not come back as HTML
        body = index.body()
        if body is None:
            return HTMLResponse(NOT_BUILT, status_code=503)
        return HTMLResponse(body, headers={"Cache-Control": REVALIDATE})

    async def default(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD") and not any(_under(path, p) for p in reserved):
            response = response_for(path)
            if response is not None:
                await response(scope, receive, send)
                return
        await not_found(scope, receive, send)

    app.router.default = default
