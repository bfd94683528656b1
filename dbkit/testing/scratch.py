"""Throwaway databases for tests, on SQLite or on a real server.

On a server a new database with a random name is created and dropped
afterwards, so the suite never touches data that was there before it ran.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import URL, make_url, pool

from dbkit.database import make_engine


def backend_name(url: URL) -> str:
    """``sqlite``, ``postgresql`` or ``mysql`` (MariaDB included)."""
    name = url.get_backend_name()
    return "mysql" if name == "mariadb" else name


# The server the suite runs against (None: SQLite files), and its backend.
SERVER_URL = os.environ.get("TEST_DATABASE_URL") or None
BACKEND = backend_name(make_url(SERVER_URL)) if SERVER_URL else "sqlite"
# A PgBouncer in transaction mode in front of that PostgreSQL server, which
# routes every database name to it (None: the pooler tests are skipped).
POOLER_URL = os.environ.get("TEST_PGBOUNCER_URL") or None


def through_pooler(url: URL) -> URL:
    """``url``'s database, reached through the pooler at POOLER_URL."""
    assert POOLER_URL is not None
    pooler = make_url(POOLER_URL)
    return url.set(host=pooler.host, port=pooler.port)


@contextmanager
def scratch_database(server_url: str | URL | None, directory: Path) -> Iterator[URL]:
    """Yield the URL of a new, empty database; remove it on exit.

    ``server_url`` picks the backend and the server (any database on it will
    do, it is only used to create and drop the scratch one); ``None`` or an
    SQLite URL gives a new SQLite file in ``directory``.
    """
    name = f"test_{uuid.uuid4().hex[:12]}"
    url = make_url(server_url) if server_url is not None else URL.create("sqlite")
    if backend_name(url) == "sqlite":
        yield url.set(database=str(directory / f"{name}.sqlite3"))
        return

    admin = make_engine(url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    quote = admin.dialect.identifier_preparer.quote
    if backend_name(url) == "postgresql":
        create = f"CREATE DATABASE {quote(name)}"
        # FORCE ends any connection a failed test left open (PostgreSQL 13+).
        drop = f"DROP DATABASE IF EXISTS {quote(name)} WITH (FORCE)"
    else:
        # The server's default character set may be latin1, which cannot
        # store the non-ASCII names the tests insert.
        create = f"CREATE DATABASE {quote(name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
        drop = f"DROP DATABASE IF EXISTS {quote(name)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(create)
        try:
            yield url.set(database=name)
        finally:
            with admin.connect() as connection:
                connection.exec_driver_sql(drop)
    finally:
        admin.dispose()
