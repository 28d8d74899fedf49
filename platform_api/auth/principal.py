"""Who is calling: typed dependencies for route signatures.

    CurrentUser    signed in (session cookie + CSRF on writes, or API key), else 401 UNAUTHORIZED
    OptionalUser   the same, or None for anonymous callers
    CurrentArtist  a signed-in artist, else 403 ARTIST_ONLY
    AdminUser      an operator, else 403 FORBIDDEN
    Internal       Ray work calling back with INTERNAL_API_TOKEN, else 401
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Request

from db.models import User
from platform_api import errors
from platform_api.auth import api_keys, sessions
from platform_api.auth.csrf import csrf_passes
from platform_api.auth.secrets import same_secret
from platform_api.database import SessionDep
from platform_api.errors import ApiError

INTERNAL_SOURCES = frozenset({"training-job", "generation-replica", "operator"})


@dataclass(frozen=True)
class Principal:
    user: User
    via: Literal["session", "api_key"]
    session_token: str | None = None


def bearer_credential(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, credential = header.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise ApiError(errors.UNAUTHORIZED, details={"reason": "malformed_authorization_header"})
    return credential.strip()


def is_internal_call(request: Request) -> bool:
    credential = bearer_credential(request)
    return credential is not None and same_secret(credential, request.app.state.settings.auth.internal_api_token)


async def _principal(request: Request, db: SessionDep) -> Principal | None:
    credential = bearer_credential(request)
    if credential is not None:
        if is_internal_call(request):
            return None
        user = await api_keys.user_for_key(db, credential) if api_keys.looks_like_api_key(credential) else None
        if user is None:
            raise ApiError(errors.UNAUTHORIZED, details={"reason": "invalid_api_key"})
        return Principal(user=user, via="api_key")

    token = request.cookies.get(request.app.state.settings.auth.session_cookie_name)
    if not token:
        return None
    signed_in = await sessions.find_session(db, token)
    if signed_in is None:
        return None
    if not csrf_passes(request):
        raise ApiError(errors.CSRF_FAILED)
    return Principal(user=signed_in.user, via="session", session_token=token)


PrincipalDep = Annotated[Principal | None, Depends(_principal)]


async def _current_principal(principal: PrincipalDep) -> Principal:
    if principal is None:
        raise ApiError(errors.UNAUTHORIZED)
    return principal


async def _current_user(principal: Annotated[Principal, Depends(_current_principal)]) -> User:
    return principal.user


async def _optional_user(principal: PrincipalDep) -> User | None:
    return principal.user if principal else None


async def _current_artist(user: Annotated[User, Depends(_current_user)]) -> User:
    if user.role != "artist" or user.artist is None:
        raise ApiError(errors.ARTIST_ONLY)
    return user


async def _admin_user(user: Annotated[User, Depends(_current_user)]) -> User:
    if user.role != "admin":
        raise ApiError(errors.FORBIDDEN)
    return user


async def _internal(request: Request) -> str:
    """The calling component's name (X-Request-Source), once its bearer token checks out."""
    if not is_internal_call(request):
        raise ApiError(errors.UNAUTHORIZED, details={"reason": "internal_token_required"})
    source = request.headers.get("x-request-source", "")
    if source not in INTERNAL_SOURCES:
        raise ApiError(errors.FORBIDDEN, details={"reason": "unknown_request_source"})
    return source


CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]
CurrentUser = Annotated[User, Depends(_current_user)]
OptionalUser = Annotated[User | None, Depends(_optional_user)]
CurrentArtist = Annotated[User, Depends(_current_artist)]
AdminUser = Annotated[User, Depends(_admin_user)]
Internal = Annotated[str, Depends(_internal)]
