"""Signing a person in: find their account by identity, or create it on first sign-in with the welcome
bonus. The same path serves Google and the development sign-in."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from db.models import User
from platform_api import errors
from platform_api.errors import ApiError
from platform_api.tokens.ledger import grant_welcome_bonus

USERNAME_PATTERN = r"^[a-z0-9_]{3,30}$"
_NOT_USERNAME_CHARS = re.compile(r"[^a-z0-9_]+")
_NEW_USERNAME_ATTEMPTS = 8


@dataclass(frozen=True)
class Identity:
    email: str
    google_sub: str | None = None
    username: str | None = None


def username_from_email(email: str) -> str:
    base = _NOT_USERNAME_CHARS.sub("_", email.split("@")[0].lower()).strip("_")[:24]
    return base if len(base) >= 3 else f"{base}_user".lstrip("_")


async def _find(db: AsyncSession, identity: Identity) -> User | None:
    conditions = [User.email == identity.email]
    if identity.google_sub:
        conditions.append(User.google_sub == identity.google_sub)
    users = list(await db.scalars(select(User).options(selectinload(User.artist)).where(or_(*conditions))))
    # An account already linked to this Google identity wins over one that merely shares the email.
    users.sort(key=lambda user: user.google_sub != identity.google_sub)
    return users[0] if users else None


async def _create(db: AsyncSession, identity: Identity) -> User:
    """Insert the account, or find the one a concurrent first sign-in inserted; a taken username gets a
    random suffix (an explicitly chosen one is refused)."""
    wanted = identity.username or username_from_email(identity.email)
    for attempt in range(_NEW_USERNAME_ATTEMPTS):
        if attempt and identity.username:
            raise ApiError(errors.USERNAME_TAKEN, details={"username": wanted})
        username = wanted if attempt == 0 else f"{wanted[:25]}_{secrets.token_hex(2)}"
        user_id = await db.scalar(
            insert(User)
            .values(email=identity.email, google_sub=identity.google_sub, username=username)
            .on_conflict_do_nothing()
            .returning(User.id)
        )
        if user_id is not None:
            await grant_welcome_bonus(db, user_id)
            return await db.scalar(select(User).options(selectinload(User.artist)).where(User.id == user_id))
        existing = await _find(db, identity)
        if existing is not None:
            return existing
    raise ApiError(errors.CONFLICT, details={"reason": "no_free_username"})


async def sign_in(db: AsyncSession, identity: Identity) -> User:
    """The account for `identity`, created with the welcome bonus on first sign-in."""
    identity = Identity(
        email=identity.email.strip().lower(), google_sub=identity.google_sub, username=identity.username
    )
    user = await _find(db, identity) or await _create(db, identity)
    if not user.is_active:
        raise ApiError(errors.ACCOUNT_DEACTIVATED)
    if identity.google_sub and user.google_sub is None:
        user.google_sub = identity.google_sub
    return user
