"""Engines and sessions. The API uses the async engine; migrations, tests and scripts the sync one."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from core.settings import DatabaseSettings


def sqlalchemy_url(url: str) -> str:
    """A libpq-style URL (postgresql://, postgres://) as a SQLAlchemy URL using psycopg 3."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1) if url.startswith("postgres://") else url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# How the API's connections appear in pg_stat_activity (operators, and the chaos test, pick them out by it).
API_APPLICATION_NAME = "style-license-api"


def _connect_args(settings: DatabaseSettings) -> dict:
    return {"options": f"-c statement_timeout={settings.statement_timeout_ms}",
            "application_name": API_APPLICATION_NAME}


def create_api_engine(settings: DatabaseSettings) -> AsyncEngine:
    if not settings.url:
        raise RuntimeError("DATABASE_URL is not set (the launcher sets it when it starts PostgreSQL)")
    return create_async_engine(
        sqlalchemy_url(settings.url),
        pool_size=settings.pool_size,
        max_overflow=settings.max_overflow,
        pool_pre_ping=True,
        connect_args=_connect_args(settings),
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def create_sync_engine(url: str, **kwargs) -> Engine:
    return create_engine(sqlalchemy_url(url), **kwargs)
