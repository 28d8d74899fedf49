"""Who may open the operators' panel: a signed-in admin, by the API's own session cookie.

Anonymous visitors are sent to the sign-in page; any other signed-in account gets 403. The panel's forms
cannot carry the API's CSRF header, so unsafe methods must come from this origin (Origin, else Referer);
the session cookie is SameSite=Lax besides.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import FastAPI
from sqladmin.authentication import AuthenticationBackend
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from platform_api.auth import sessions
from platform_api.auth.csrf import SAFE_METHODS

ADMIN_PATH = "/admin"
SIGN_IN_PAGE = "/sign-in"


def sign_in_redirect() -> RedirectResponse:
    return RedirectResponse(f"{SIGN_IN_PAGE}?next={quote(ADMIN_PATH + '/')}", status_code=302)


def from_this_origin(request: Request) -> bool:
    source = request.headers.get("origin") or request.headers.get("referer")
    return bool(source) and urlsplit(source).netloc == request.headers.get("host")


class OperatorAccess(AuthenticationBackend):
    def __init__(self, app: FastAPI):
        # No session middleware of sqladmin's own: the API's session is the only one.
        self.app = app
        self.middlewares = []

    async def authenticate(self, request: Request) -> Response | bool:
        user = await self._signed_in_user(request)
        if user is None:
            return sign_in_redirect()
        if user.role != "admin":
            return PlainTextResponse("Operators only.", status_code=403)
        if request.method not in SAFE_METHODS and not from_this_origin(request):
            return PlainTextResponse("Cross-site request refused.", status_code=403)
        request.state.operator_id = user.id
        return True

    async def get_user_id(self, request: Request) -> int | None:
        return getattr(request.state, "operator_id", None)

    async def login(self, request: Request) -> Response:
        return sign_in_redirect()

    async def logout(self, request: Request) -> Response:
        return RedirectResponse("/", status_code=302)

    async def _signed_in_user(self, request: Request):
        token = request.cookies.get(self.app.state.settings.auth.session_cookie_name)
        if not token:
            return None
        async with self.app.state.session_factory() as db, db.begin():
            signed_in = await sessions.find_session(db, token)
        return signed_in.user if signed_in else None
