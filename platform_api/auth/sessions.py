"""Server-side sign-in sessions: the cookie holds a random token, the database its hash."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from fastapi import Response
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core.settings import Settings
from db.models import Session, User
from platform_api.auth.secrets import new_secret, secret_hash

# Writing last_seen_at on every request would turn every read into a write.
LAST_SEEN_RESOLUTION = timedelta(minutes=5)


@dataclass(frozen=True)
class SignedInSession:
    session: Session
    user: User


async def start_session(
    db: AsyncSession,
    user: User,
    *,
    replaces: str | None,
    lifetime_seconds: int,
    ip_address: str | None,
    user_agent: str | None,
) -> str:
    """A new session for `user`; the session the browser had before (if any) ends, so a token planted
    before sign-in can never become a signed-in one (session fixation)."""
    if replaces:
        await db.execute(delete(Session).where(Session.token_hash == secret_hash(replaces)))
    token = new_secret()
    now = datetime.now(UTC)
    db.add(
        Session(
            token_hash=secret_hash(token),
            user_id=user.id,
            expires_at=now + timedelta(seconds=lifetime_seconds),
            last_seen_at=now,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:512] or None,
        )
    )
    user.last_login_at = now
    await db.flush()
    return token


async def find_session(db: AsyncSession, token: str) -> SignedInSession | None:
    row = (
        await db.execute(
            select(Session, User)
            .join(User, User.id == Session.user_id)
            .options(selectinload(User.artist))
            .where(Session.token_hash == secret_hash(token), Session.expires_at > datetime.now(UTC))
            .where(User.is_active)
        )
    ).first()
    if row is None:
        return None
    session, user = row
    now = datetime.now(UTC)
    if session.last_seen_at is None or now - session.last_seen_at > LAST_SEEN_RESOLUTION:
        await db.execute(update(Session).where(Session.id == session.id).values(last_seen_at=now))
    return SignedInSession(session=session, user=user)


async def end_session(db: AsyncSession, token: str) -> None:
    await db.execute(delete(Session).where(Session.token_hash == secret_hash(token)))


async def end_all_sessions(db: AsyncSession, user_id: int) -> None:
    await db.execute(delete(Session).where(Session.user_id == user_id))


def set_session_cookie(response: Response, token: str, settings: Settings) -> None:
    response.set_cookie(
        settings.auth.session_cookie_name,
        token,
        max_age=settings.auth.session_lifetime_seconds,
        httponly=True,
        secure=settings.auth.session_cookie_secure,
        samesite="lax",
        path="/",
    )


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        settings.auth.session_cookie_name,
        httponly=True,
        secure=settings.auth.session_cookie_secure,
        samesite="lax",
        path="/",
    )
