"""A seed run: every source loaded in one transaction, after checking the schema is migrated."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase, Mapper

from dbkit.database import PROJECT_ROOT, display_url, run_with_connection
from dbkit.migrations.revisions import ALEMBIC_INI, current_revisions
from dbkit.seeding.loader import LoadResult, Options, Source, load
from dbkit.seeding.references import Unwritten
from models import Base

# How long a seed waits for another process writing to the same SQLite file
# (another seed, a migration) before it gives up.
SQLITE_WAIT_SECONDS = 600


class NotMigratedError(Exception):
    """The database schema is missing or behind the code's migrations."""


@dataclass(frozen=True)
class Project:
    """What a seed loads into: the models' tables and their ``@validates`` rules, the
    migration history whose head the database must be at, and the data files."""

    metadata: MetaData
    mappers: Sequence[Mapper[Any]]
    alembic_ini: Path
    seeds: Path

    @classmethod
    def of(cls, base: type[DeclarativeBase], alembic_ini: Path, seeds: Path) -> Project:
        return cls(base.metadata, list(base.registry.mappers), alembic_ini, seeds)

    def head_revisions(self) -> set[str]:
        return set(ScriptDirectory.from_config(Config(str(self.alembic_ini))).get_heads())


# This project: its models, its migrations, seeds/.
PROJECT = Project.of(Base, ALEMBIC_INI, PROJECT_ROOT / "seeds")


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
    project: Project = PROJECT,
) -> list[LoadResult]:
    """Seed ``sources`` into the configured database (or ``url``), which must be
    migrated to the head of ``project``'s history; close their files."""

    def work(connection: Connection) -> list[LoadResult]:
        at_head = current_revisions(connection) == project.head_revisions()
        connection.rollback()
        if not at_head:
            raise NotMigratedError(display_url(connection))
        return load_all(connection, sources, options, project.mappers)

    try:
        return run_with_connection(work, url)
    finally:
        for source in sources:
            if source.stream is not None:
                source.stream.close()
