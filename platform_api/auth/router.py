"""Sign-in (Google, development), sessions, CSRF token and API keys (spec §6.3)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import RedirectResponse

from core.settings import Environment
from platform_api import errors
from platform_api.auth import api_keys, sessions
from platform_api.auth.accounts import Identity, sign_in
from platform_api.auth.csrf import CSRF_COOKIE, clear_csrf_cookie, issue_csrf_token
from platform_api.auth.google import callback_url, verified_identity
from platform_api.auth.principal import CurrentPrincipal, CurrentUser
from platform_api.auth.schemas import ApiKeyCreate, ApiKeyIssued, ApiKeyPublic, CsrfToken, DevLogin, SignedIn
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, ResourceId, error_responses, ok
from platform_api.errors import ApiError
from platform_api.media import image_url_for
from platform_api.rate_limit import SignInLimit, client_ip
from platform_api.users.schemas import UserPrivate

router = APIRouter(prefix="/auth", tags=["auth"])

_NEXT_SESSION_KEY = "next"


def _safe_next(next_path: str | None) -> str | None:
    """Only same-site paths: an open redirect would let a phishing link borrow our sign-in page."""
    if not next_path or not next_path.startswith("/") or next_path.startswith("//") or "\\" in next_path:
        return None
    parts = urlsplit(next_path)
    return next_path if not parts.scheme and not parts.netloc else None


async def _start_session(request: Request, response: Response, db: SessionDep, user) -> str:
    settings = request.app.state.settings
    token = await sessions.start_session(
        db,
        user,
        replaces=request.cookies.get(settings.auth.session_cookie_name),
        lifetime_seconds=settings.auth.session_lifetime_seconds,
        ip_address=client_ip(request),
        user_agent=request.headers.get("user-agent"),
    )
    sessions.set_session_cookie(response, token, settings)
    return issue_csrf_token(response, settings)


@router.get(
    "/google/login",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses=error_responses(errors.SIGN_IN_UNAVAILABLE),
)
async def google_login(
    request: Request,
    _: SignInLimit,
    next: str | None = Query(default=None, max_length=512, description="where to land after sign-in"),
):
    client = request.app.state.google
    if client is None:
        raise ApiError(errors.SIGN_IN_UNAVAILABLE)
    request.session.clear()
    if safe := _safe_next(next):
        request.session[_NEXT_SESSION_KEY] = safe
    return await client.authorize_redirect(request, callback_url(request.app.state.settings))


@router.get(
    "/google/callback",
    status_code=status.HTTP_302_FOUND,
    response_class=RedirectResponse,
    responses=error_responses(
        errors.SIGN_IN_FAILED, errors.EMAIL_NOT_VERIFIED, errors.ACCOUNT_DEACTIVATED, errors.SIGN_IN_UNAVAILABLE
    ),
)
async def google_callback(request: Request, db: SessionDep, _: SignInLimit):
    client = request.app.state.google
    if client is None:
        raise ApiError(errors.SIGN_IN_UNAVAILABLE)
    identity = await verified_identity(client, request)
    destination = request.session.pop(_NEXT_SESSION_KEY, None) or request.app.state.settings.auth.frontend_url
    request.session.clear()
    user = await sign_in(db, Identity(email=identity.email, google_sub=identity.sub))
    response = RedirectResponse(destination, status_code=status.HTTP_302_FOUND)
    await _start_session(request, response, db, user)
    return response


@router.post(
    "/dev-login",
    response_model=Envelope[SignedIn],
    responses=error_responses(errors.NOT_FOUND, errors.USERNAME_TAKEN, errors.ACCOUNT_DEACTIVATED),
)
async def dev_login(body: DevLogin, request: Request, response: Response, db: SessionDep, _: SignInLimit):
    """Development and test only: sign in as anyone, created on first use like a first Google sign-in."""
    settings = request.app.state.settings
    if settings.app.env is Environment.production or not settings.auth.dev_login:
        raise ApiError(errors.NOT_FOUND)
    user = await sign_in(db, Identity(email=body.email, username=body.username))
    csrf_token = await _start_session(request, response, db, user)
    return ok(SignedIn(user=UserPrivate.of(user, image_url_for(request)), csrf_token=csrf_token))


@router.get("/me", response_model=Envelope[UserPrivate], responses=error_responses(errors.UNAUTHORIZED))
async def me(request: Request, user: CurrentUser):
    return ok(UserPrivate.of(user, image_url_for(request)))


@router.post(
    "/logout", response_model=Envelope[None], responses=error_responses(errors.UNAUTHORIZED, errors.CSRF_FAILED)
)
async def logout(request: Request, response: Response, db: SessionDep, principal: CurrentPrincipal):
    if principal.session_token:
        await sessions.end_session(db, principal.session_token)
    settings = request.app.state.settings
    sessions.clear_session_cookie(response, settings)
    clear_csrf_cookie(response, settings)
    return ok(None)


@router.get("/csrf", response_model=Envelope[CsrfToken])
async def csrf(request: Request, response: Response):
    """The token to echo in X-CSRF-Token; also set as a cookie the web app can read."""
    token = issue_csrf_token(response, request.app.state.settings, current=request.cookies.get(CSRF_COOKIE))
    return ok(CsrfToken(csrf_token=token))


def _session_only(principal) -> None:
    # A leaked key must not be able to mint more keys.
    if principal.via != "session":
        raise ApiError(errors.FORBIDDEN, details={"reason": "api_keys_are_managed_from_a_signed_in_browser"})


@router.post(
    "/api-keys",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[ApiKeyIssued],
    responses=error_responses(errors.UNAUTHORIZED, errors.CSRF_FAILED, errors.FORBIDDEN, errors.CONFLICT),
)
async def create_api_key(body: ApiKeyCreate, db: SessionDep, principal: CurrentPrincipal):
    _session_only(principal)
    issued = await api_keys.issue_key(db, principal.user, body.name)
    public = ApiKeyPublic.model_validate(issued.key, from_attributes=True)
    return ok(ApiKeyIssued(**public.model_dump(), key=issued.secret))


@router.get(
    "/api-keys",
    response_model=Envelope[list[ApiKeyPublic]],
    responses=error_responses(errors.UNAUTHORIZED, errors.FORBIDDEN),
)
async def list_api_keys(db: SessionDep, principal: CurrentPrincipal):
    _session_only(principal)
    keys = await api_keys.list_keys(db, principal.user)
    return ok([ApiKeyPublic.model_validate(key, from_attributes=True) for key in keys])


@router.delete(
    "/api-keys/{key_id}",
    response_model=Envelope[None],
    responses=error_responses(errors.UNAUTHORIZED, errors.CSRF_FAILED, errors.FORBIDDEN, errors.NOT_FOUND),
)
async def revoke_api_key(key_id: ResourceId, db: SessionDep, principal: CurrentPrincipal):
    _session_only(principal)
    await api_keys.revoke_key(db, principal.user, key_id)
    return ok(None)
