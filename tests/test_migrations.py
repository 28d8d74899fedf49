"""One Alembic chain: it goes up, down and up again on an empty database, and matches the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from db.base import SCHEMAS, Base
from db.engine import create_sync_engine
from db.migrate import downgrade, upgrade


def _include_name(name, type_, parent_names) -> bool:
    return name in SCHEMAS if type_ == "schema" else True


def _differences(url: str) -> list:
    engine = create_sync_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection,
                opts={
                    "include_schemas": True,
                    "include_name": _include_name,
                    "compare_type": True,
                    "compare_server_default": True,
                },
            )
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def _our_tables(url: str) -> set[str]:
    engine = create_sync_engine(url)
    try:
        inspector = inspect(engine)
        return {f"{schema}.{table}" for schema in SCHEMAS for table in inspector.get_table_names(schema=schema)}
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_round_trip(empty_database_url: str):
    expected = {table.fullname for table in Base.metadata.sorted_tables}

    upgrade(empty_database_url)
    assert _our_tables(empty_database_url) == expected

    downgrade(empty_database_url)
    assert _our_tables(empty_database_url) == set()
    engine = create_sync_engine(empty_database_url)
    with engine.connect() as connection:
        left = connection.execute(
            text("SELECT nspname FROM pg_namespace WHERE nspname = ANY(:names)"), {"names": list(SCHEMAS)}
        ).all()
    engine.dispose()
    assert left == []

    upgrade(empty_database_url)
    assert _our_tables(empty_database_url) == expected


def test_models_and_migrations_agree(database_url: str):
    assert _differences(database_url) == []
