"""A local OpenID Connect provider that speaks the protocol Google speaks: discovery, authorize (code flow
with PKCE S256 and nonce), token (RS256 id_token), JWKS and userinfo.

It signs in whoever `next_identity` says, without a consent page. Knobs for attack tests:
`sign_with_foreign_key` signs id_tokens with a key the JWKS does not publish (same kid).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

from fastapi import FastAPI, Form, Header, Request
from fastapi.responses import JSONResponse, RedirectResponse
from joserfc import jwt
from joserfc.jwk import RSAKey

KEY_ID = "stub-key-1"


@dataclass
class Identity:
    sub: str
    email: str
    email_verified: bool = True
    name: str = "Test Person"


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    nonce: str | None
    code_challenge: str | None
    identity: Identity


@dataclass
class OidcProvider:
    client_id: str = "style-license-test"
    client_secret: str = "stub-secret"
    issuer: str = ""
    next_identity: Identity = field(default_factory=lambda: Identity(sub="100", email="person@example.com"))
    sign_with_foreign_key: bool = False
    _key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": KEY_ID}))
    _foreign_key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": KEY_ID}))
    _codes: dict[str, _Grant] = field(default_factory=dict)
    _access_tokens: dict[str, Identity] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        async def discovery():
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "email", "profile"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": ["sub", "email", "email_verified", "name", "iss", "aud", "exp", "iat", "nonce"],
            }

        @app.get("/jwks")
        async def jwks():
            return {"keys": [self._key.as_dict(private=False)]}

        @app.get("/authorize")
        async def authorize(request: Request):
            query = request.query_params
            if query.get("client_id") != self.client_id or query.get("response_type") != "code":
                return JSONResponse({"error": "unauthorized_client"}, status_code=400)
            if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
                return JSONResponse({"error": "invalid_request", "error_description": "PKCE S256 required"}, 400)
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Grant(
                client_id=self.client_id,
                redirect_uri=query["redirect_uri"],
                nonce=query.get("nonce"),
                code_challenge=query["code_challenge"],
                identity=self.next_identity,
            )
            return RedirectResponse(
                f"{query['redirect_uri']}?{urlencode({'code': code, 'state': query.get('state', '')})}", 302
            )

        @app.post("/token")
        async def token(
            grant_type: str = Form(),
            code: str = Form(),
            redirect_uri: str = Form(),
            code_verifier: str | None = Form(default=None),
            client_id: str | None = Form(default=None),
            client_secret: str | None = Form(default=None),
            authorization: str | None = Header(default=None),
        ):
            if authorization and authorization.startswith("Basic "):
                client_id, _, client_secret = base64.b64decode(authorization[6:]).decode().partition(":")
            if client_id != self.client_id or client_secret != self.client_secret:
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            grant = self._codes.pop(code, None)  # single use: a replayed code is refused
            if grant_type != "authorization_code" or grant is None or grant.redirect_uri != redirect_uri:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            challenge = base64.urlsafe_b64encode(hashlib.sha256((code_verifier or "").encode()).digest())
            if challenge.decode().rstrip("=") != grant.code_challenge:
                return JSONResponse({"error": "invalid_grant", "error_description": "PKCE mismatch"}, 400)
            access_token = secrets.token_urlsafe(24)
            self._access_tokens[access_token] = grant.identity
            return {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": 3600,
                "scope": "openid email profile",
                "id_token": self._id_token(grant),
            }

        @app.get("/userinfo")
        async def userinfo(authorization: str = Header(default="")):
            identity = self._access_tokens.get(authorization.removeprefix("Bearer "))
            if identity is None:
                return JSONResponse({"error": "invalid_token"}, status_code=401)
            return self._claims(identity)

        return app

    def _claims(self, identity: Identity) -> dict:
        return {
            "sub": identity.sub,
            "email": identity.email,
            "email_verified": identity.email_verified,
            "name": identity.name,
        }

    def _id_token(self, grant: _Grant) -> str:
        now = int(time.time())
        claims = self._claims(grant.identity) | {
            "iss": self.issuer,
            "aud": grant.client_id,
            "iat": now,
            "exp": now + 3600,
        }
        if grant.nonce:
            claims["nonce"] = grant.nonce
        key = self._foreign_key if self.sign_with_foreign_key else self._key
        return jwt.encode({"alg": "RS256", "kid": KEY_ID}, claims, key)
