"""Rate limits of spec §6.11 with the `limits` library: a sliding window over each hit's time (its moving
window), exact at every moment. Its cheaper counter approximation forgot most of the previous window right
after a window boundary, so a burst that straddled one got through beyond the limit.

Counters live in Redis when REDIS_URL is set (shared by every API process), in memory otherwise.
Every /api/v1 request counts against the caller's budget (authenticated: per user, anonymous: per IP);
sign-in and generation routes add their own, stricter limit.
"""

from __future__ import annotations

import math
import time
from typing import Annotated, Literal

from fastapi import Depends, Request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter

from core.settings import LimitSettings
from platform_api import errors
from platform_api.auth.principal import PrincipalDep, is_internal_call
from platform_api.errors import ApiError

LimitName = Literal["sign_in", "verify", "generation", "authenticated", "anonymous"]


def _storage(settings: LimitSettings) -> Storage:
    if settings.redis_url:
        return storage_from_string(
            f"async+{settings.redis_url}", implementation="redispy", key_prefix=settings.key_prefix
        )
    return storage_from_string("async+memory://")


class RateLimiter:
    def __init__(self, settings: LimitSettings):
        self.enabled = settings.enabled
        self.storage = _storage(settings)
        self.strategy = MovingWindowRateLimiter(self.storage)
        self.items: dict[LimitName, RateLimitItem] = {
            "sign_in": parse(settings.sign_in),
            "verify": parse(settings.verify),
            "generation": parse(settings.generation),
            "authenticated": parse(settings.authenticated),
            "anonymous": parse(settings.anonymous),
        }

    async def hit(self, name: LimitName, identity: str) -> None:
        """Count one request; over the limit raises 429 RATE_LIMITED with Retry-After (seconds)."""
        if not self.enabled:
            return
        item = self.items[name]
        if await self.strategy.hit(item, name, identity):
            return
        stats = await self.strategy.get_window_stats(item, name, identity)
        retry_after = max(1, math.ceil(stats.reset_time - time.time()))
        raise ApiError(
            errors.RATE_LIMITED,
            details={"limit": str(item), "retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit_by_caller(request: Request, principal: PrincipalDep) -> None:
    """The budget every /api/v1 request counts against; Ray work on the internal API is exempt."""
    limiter: RateLimiter = request.app.state.rate_limiter
    if principal is not None:
        await limiter.hit("authenticated", f"user:{principal.user.id}")
    elif not is_internal_call(request):
        await limiter.hit("anonymous", f"ip:{client_ip(request)}")


def _per_ip(name: LimitName):
    async def limit(request: Request) -> None:
        await request.app.state.rate_limiter.hit(name, f"ip:{client_ip(request)}")

    return limit


async def _per_user_generation(request: Request, principal: PrincipalDep) -> None:
    if principal is not None:
        await request.app.state.rate_limiter.hit("generation", f"user:{principal.user.id}")


SignInLimit = Annotated[None, Depends(_per_ip("sign_in"))]
# GPU time is the scarce resource: generation requests have their own, stricter budget per user.
GenerationLimit = Annotated[None, Depends(_per_user_generation)]
# Each verification uploads up to 10 MB and decodes it.
VerifyLimit = Annotated[None, Depends(_per_ip("verify"))]
