"""Google OpenID Connect through authlib: authorization code flow with state, nonce and PKCE (S256).

authlib keeps state, nonce and the PKCE verifier in a short-lived signed cookie (Starlette's
SessionMiddleware, see app.py) between the redirect to Google and the callback.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import Request
from joserfc.errors import JoseError

from core.settings import Settings
from platform_api import errors
from platform_api.errors import ApiError

OAUTH_STATE_COOKIE = "sl_oauth"
OAUTH_STATE_MAX_AGE_SECONDS = 600


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str


def google_client(settings: Settings) -> StarletteOAuth2App | None:
    """The OAuth client, or None when Google credentials are not configured."""
    if not settings.auth.google_client_id or not settings.auth.google_client_secret:
        return None
    oauth = OAuth()
    oauth.register(
        name="google",
        client_id=settings.auth.google_client_id,
        client_secret=settings.auth.google_client_secret,
        server_metadata_url=settings.auth.oidc_discovery_url,
        client_kwargs={"scope": "openid email profile", "code_challenge_method": "S256", "timeout": 10},
    )
    return oauth.create_client("google")


def callback_url(settings: Settings) -> str:
    return f"{settings.app.public_url.rstrip('/')}/api/v1/auth/google/callback"


async def verified_identity(client: StarletteOAuth2App, request: Request) -> GoogleIdentity:
    """Exchange the callback's code and verify the id_token (signature, issuer, audience, expiry, nonce)."""
    try:
        token = await client.authorize_access_token(request)
    except (OAuthError, JoseError, ValueError, KeyError) as exc:
        # Bad or replayed state/code, or an id_token that fails verification. joserfc's errors
        # (BadSignatureError...) are not OAuthErrors, hence the wide net.
        raise ApiError(errors.SIGN_IN_FAILED, details={"reason": type(exc).__name__}) from exc
    except httpx.HTTPError as exc:
        raise ApiError(errors.SERVICE_UNAVAILABLE, details={"reason": "identity_provider_unreachable"}) from exc
    claims = token.get("userinfo") or {}
    if not claims.get("sub") or not claims.get("email"):
        raise ApiError(errors.SIGN_IN_FAILED, details={"reason": "missing_claims"})
    if claims.get("email_verified") is not True:
        raise ApiError(errors.EMAIL_NOT_VERIFIED)
    return GoogleIdentity(sub=str(claims["sub"]), email=str(claims["email"]))
