"""Declarative base shared by every table: naming convention, id and timestamp columns."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Identity, Index, MetaData, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The seven PostgreSQL schemas of the data model, one models module each.
SCHEMAS = ("auth", "token", "style", "generation", "community", "tagging", "system")

# Stable constraint names so Alembic can drop and alter them; %(constraint_name)s names CHECKs by hand.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_N_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IdMixin:
    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)


class CreatedAtMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )


class TimestampsMixin(CreatedAtMixin):
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )


def trigram_index(name: str, column: str) -> Index:
    """A GIN trigram index (pg_trgm): serves case-insensitive prefix and substring matches (ILIKE '%q%')."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"})


def enum_check(column: str, values: tuple[str, ...]) -> str:
    """SQL for a CHECK that keeps a text column inside a closed set (text + CHECK migrates more easily
    than a PostgreSQL ENUM type)."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"
