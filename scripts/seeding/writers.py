"""Writing records with each backend's fastest bulk path, skipping existing users.

A user whose username or email is already in the table is skipped, not an
error: every path below leaves conflicting rows out and carries on.

- SQLite: the driver's ``executemany`` with plain tuples and
  ``ON CONFLICT DO NOTHING`` (the ORM would be an order of magnitude slower).
- PostgreSQL with psycopg: ``COPY`` inside a savepoint; only if a batch hits
  an existing user is it copied into a staging table instead and inserted
  with ``ON CONFLICT DO NOTHING``.
- Other drivers (asyncpg, MySQL): SQLAlchemy Core ``insert`` with the
  dialect's conflict clause, executed as one executemany per batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Connection

from models import User
from seeding.records import FIELDS, Record

USERS: Table = User.__table__  # type: ignore[assignment]

Writer = Callable[[list[Record]], None]


def batches(records: Iterable[Record], size: int) -> Iterator[list[Record]]:
    iterator = iter(records)
    while batch := list(islice(iterator, size)):
        yield batch


def count_users(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(USERS)).scalar_one())


def writer_for(connection: Connection) -> Writer:
    """The fastest way to insert-unless-present on ``connection``'s backend."""
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    table = dialect.identifier_preparer.format_table(USERS)
    columns = ", ".join(quote(field) for field in FIELDS)
    if dialect.name == "sqlite":
        sql = f"INSERT INTO {table} ({columns}) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
        return lambda batch: _executemany(connection, sql, batch)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return _PostgresCopy(connection, table, columns)
    if dialect.name == "postgresql":
        statement: Any = postgresql.insert(USERS).on_conflict_do_nothing()
    elif dialect.name in {"mysql", "mariadb"}:
        # A no-op update is MySQL's "do nothing"; INSERT IGNORE would also
        # turn other errors (a value too long, say) into warnings.
        statement = mysql.insert(USERS).on_duplicate_key_update(id=USERS.c.id)
    else:
        raise NotImplementedError(f"seeding does not support {dialect.name} yet")
    return lambda batch: _execute(connection, statement, batch)


def _executemany(connection: Connection, sql: str, batch: list[Record]) -> None:
    connection.exec_driver_sql(sql, batch)


def _execute(connection: Connection, statement: Any, batch: list[Record]) -> None:
    connection.execute(statement, [dict(zip(FIELDS, record, strict=True)) for record in batch])


class _PostgresCopy:
    def __init__(self, connection: Connection, table: str, columns: str) -> None:
        self.connection = connection
        self.table = table
        self.columns = columns
        self.staging_ready = False

    def __call__(self, batch: list[Record]) -> None:
        import psycopg

        savepoint = self.connection.begin_nested()
        try:
            self._copy(f"COPY {self.table} ({self.columns}) FROM STDIN", batch)
        except psycopg.errors.UniqueViolation:
            savepoint.rollback()
            self._insert_missing(batch)
        else:
            savepoint.commit()

    def _cursor(self) -> Any:
        # The psycopg connection under SQLAlchemy's, inside SQLAlchemy's
        # transaction: no psycopg transaction blocks, which would commit.
        return self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def _copy(self, sql: str, batch: list[Record]) -> None:
        with self._cursor() as cursor, cursor.copy(sql) as copy:
            for record in batch:
                copy.write_row(record)

    def _insert_missing(self, batch: list[Record]) -> None:
        with self._cursor() as cursor:
            if not self.staging_ready:
                cursor.execute(
                    "CREATE TEMPORARY TABLE seed_staging "
                    "(username text, email text, full_name text) ON COMMIT DROP"
                )
                self.staging_ready = True
            else:
                cursor.execute("TRUNCATE seed_staging")
        self._copy("COPY seed_staging (username, email, full_name) FROM STDIN", batch)
        with self._cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} ({self.columns}) "
                "SELECT username, email, full_name FROM seed_staging ON CONFLICT DO NOTHING"
            )
