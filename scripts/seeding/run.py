"""A seed run: every source loaded in one transaction, after checking the schema is migrated."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper

from models import Base
from models.database import display_url, run_with_connection
from models.revisions import is_at_head
from seeding.loader import LoadResult, Options, Source, load
from seeding.references import Unwritten

# How long a seed waits for another process writing to the same SQLite file
# (another seed, a migration) before it gives up.
SQLITE_WAIT_SECONDS = 600


class NotMigratedError(Exception):
    """The database schema is missing or behind the code's migrations."""


def load_all(
    connection: Connection,
    sources: Sequence[Source],
    options: Options = Options(),  # noqa: B008  (frozen)
    mappers: Sequence[Mapper[Any]] | None = None,
) -> list[LoadResult]:
    """Load ``sources`` in order, in one transaction; a dry run rolls it back.

    ``mappers`` hold the models' ``@validates`` rules (default: the project's models).
    """
    if connection.dialect.name == "sqlite":
        # Take the file's write lock when the transaction begins, waiting for
        # any other writer: a transaction that has read before it writes
        # cannot wait for the lock (SQLite would deadlock) and fails at once.
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_WAIT_SECONDS * 1000}")
        connection.commit()
        connection.execution_options(sqlite_begin="IMMEDIATE")
    if mappers is None:
        mappers = list(Base.registry.mappers)
    with connection.begin() as transaction:
        with ExitStack() as resources:
            # What a dry run reads it does not write: later files refer to it.
            unwritten = Unwritten(connection, resources) if options.dry_run else None
            results = [load(connection, source, options, mappers, unwritten) for source in sources]
        if options.dry_run:
            transaction.rollback()
    return results


def seed(
    sources: Sequence[Source],
    options: Options = Options(),  # noqa: B008  (frozen)
    url: str | None = None,
) -> list[LoadResult]:
    """Seed ``sources`` into the configured database (or ``url``), which must be
    migrated to head; close their files."""

    def work(connection: Connection) -> list[LoadResult]:
        at_head = is_at_head(connection)
        connection.rollback()
        if not at_head:
            raise NotMigratedError(display_url(connection))
        return load_all(connection, sources, options)

    try:
        return run_with_connection(work, url)
    finally:
        for source in sources:
            if source.stream is not None:
                source.stream.close()
