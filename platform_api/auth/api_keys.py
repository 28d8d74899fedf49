"""API keys for batch scripts: `Authorization: Bearer slk_<prefix>_<secret>`; only the hash is stored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.models import ApiKey, User
from platform_api import errors
from platform_api.auth.secrets import new_secret, secret_hash
from platform_api.errors import ApiError

KEY_PREFIX = "slk_"
MAX_ACTIVE_KEYS = 20
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class IssuedKey:
    key: ApiKey
    secret: str


def looks_like_api_key(credential: str) -> bool:
    return credential.startswith(KEY_PREFIX)


async def issue_key(db: AsyncSession, user: User, name: str) -> IssuedKey:
    active = await db.scalar(
        select(func.count()).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
    )
    if active >= MAX_ACTIVE_KEYS:
        raise ApiError(errors.CONFLICT, details={"reason": "too_many_api_keys", "max": MAX_ACTIVE_KEYS})
    prefix = new_secret(6)[:8]
    secret = f"{KEY_PREFIX}{prefix}_{new_secret()}"
    key = ApiKey(user_id=user.id, name=name, prefix=prefix, key_hash=secret_hash(secret))
    db.add(key)
    await db.flush()
    return IssuedKey(key=key, secret=secret)


async def list_keys(db: AsyncSession, user: User) -> list[ApiKey]:
    result = await db.scalars(
        select(ApiKey).where(ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None)).order_by(ApiKey.id.desc())
    )
    return list(result)


async def revoke_key(db: AsyncSession, user: User, key_id: int) -> None:
    revoked = await db.execute(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.user_id == user.id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    if revoked.rowcount == 0:
        raise ApiError(errors.NOT_FOUND)


async def revoke_all_keys(db: AsyncSession, user_id: int) -> None:
    await db.execute(
        update(ApiKey).where(ApiKey.user_id == user_id, ApiKey.revoked_at.is_(None)).values(revoked_at=datetime.now(UTC))
    )


async def user_for_key(db: AsyncSession, secret: str) -> User | None:
    row = (
        await db.execute(
            select(ApiKey, User)
            .join(User, User.id == ApiKey.user_id)
            .options(selectinload(User.artist))
            .where(ApiKey.key_hash == secret_hash(secret), ApiKey.revoked_at.is_(None), User.is_active)
        )
    ).first()
    if row is None:
        return None
    key, user = row
    now = datetime.now(UTC)
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        await db.execute(update(ApiKey).where(ApiKey.id == key.id).values(last_used_at=now))
    return user
