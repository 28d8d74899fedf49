"""Security headers of spec §10.5 on every response; HSTS in production."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The web app is served from this origin; images may come from object storage over https.
APP_CSP = (
    "default-src 'self'; img-src 'self' data: blob: https:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
# Swagger UI and ReDoc load their bundles from a CDN.
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; worker-src 'self' blob:; "
    "frame-ancestors 'none'; base-uri 'self'"
)
DOCS_PATHS = ("/docs", "/redoc")
# With Toss payments the web app's payment widget loads its script and frames from Toss.
TOSS_CSP = (
    APP_CSP.replace("script-src 'self'", "script-src 'self' https://js.tosspayments.com")
    .replace("connect-src 'self'", "connect-src 'self' https://*.tosspayments.com")
    + "; frame-src https://*.tosspayments.com"
)


def _app_csp(scope: Scope) -> str:
    settings = getattr(getattr(scope.get("app"), "state", None), "settings", None)
    return TOSS_CSP if settings is not None and settings.payments.provider == "toss" else APP_CSP


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.static = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        ]
        if hsts:
            self.static.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        csp = DOCS_CSP if scope["path"].startswith(DOCS_PATHS) else _app_csp(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *self.static,
                    (b"content-security-policy", csp.encode()),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)
