"""CSRF protection for cookie-authenticated writes: the double-submit token.

The token lives in a cookie that the web app can read (other sites cannot) and must come back in the
X-CSRF-Token header of every POST/PUT/PATCH/DELETE that relies on the session cookie. It is renewed at
every sign-in. Requests authenticated by API key carry no cookie and are exempt.
"""

from __future__ import annotations

from fastapi import Request, Response

from core.settings import Settings
from platform_api.auth.secrets import new_secret, same_secret

CSRF_COOKIE = "sl_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def issue_csrf_token(response: Response, settings: Settings, *, current: str | None = None) -> str:
    token = current or new_secret()
    response.set_cookie(
        CSRF_COOKIE,
        token,
        max_age=settings.auth.session_lifetime_seconds,
        httponly=False,  # the web app reads it to echo it in the header
        secure=settings.auth.session_cookie_secure,
        samesite="lax",
        path="/",
    )
    return token


def csrf_passes(request: Request) -> bool:
    if request.method in SAFE_METHODS:
        return True
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(cookie) and same_secret(request.headers.get(CSRF_HEADER), cookie)


def clear_csrf_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(CSRF_COOKIE, secure=settings.auth.session_cookie_secure, samesite="lax", path="/")
