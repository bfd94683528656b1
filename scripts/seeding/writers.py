"""Writing records with each backend's fastest bulk path, skipping existing users.

A user whose username or email is already in the table is skipped, not an
error: every path below leaves conflicting rows out and carries on.

- SQLite: the driver's ``executemany`` with plain tuples and
  ``ON CONFLICT DO NOTHING`` (the ORM would be an order of magnitude slower).
- PostgreSQL with psycopg: ``COPY`` inside a savepoint; only if a batch hits
  an existing user is it copied into a staging table instead and inserted
  with ``ON CONFLICT DO NOTHING``.
- Other drivers (asyncpg, MySQL): SQLAlchemy Core ``insert`` with the
  dialect's conflict clause, executed as one executemany per batch (with
  ``RETURNING`` on PostgreSQL, which lists only the rows inserted).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from itertools import chain, islice
from typing import Any

from sqlalchemy import Column, MetaData, Table, exists, func, insert, or_, select
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Connection

from models import Base, User
from seeding.records import FIELDS, Record

USERS: Table = Base.metadata.tables[User.__tablename__]

# A writer consumes one batch, given as an iterator, and returns how many
# records it read and how many rows it inserted (the rest were present).
# Batches are iterators rather than lists so that PostgreSQL's COPY can send
# rows while they are still being read and validated: the server works on
# one batch while the client prepares it, as the raw driver's single COPY does.
# What was inserted is counted by each statement, never by counting the table
# before and after: another session may be inserting at the same time.
Writer = Callable[[Iterator[Record]], tuple[int, int]]


def batches(records: Iterable[Record], size: int) -> Iterator[Iterator[Record]]:
    """``records`` in consecutive batches of ``size``; consume each before the next."""
    iterator = iter(records)
    for first in iterator:
        yield chain((first,), islice(iterator, size - 1))


def count_users(connection: Connection) -> int:
    return int(connection.execute(select(func.count()).select_from(USERS)).scalar_one())


def writer_for(connection: Connection, *, dry_run: bool = False) -> Writer:
    """The fastest way to insert-unless-present on ``connection``'s backend.

    With ``dry_run``, a writer that only counts what would be inserted.
    """
    if dry_run:
        return _DryRun(connection)
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    table = dialect.identifier_preparer.format_table(USERS)
    columns = ", ".join(quote(field) for field in FIELDS)
    if dialect.name == "sqlite":
        placeholders = ", ".join("?" for _ in FIELDS)
        sql = f"INSERT INTO {table} ({columns}) VALUES ({placeholders}) ON CONFLICT DO NOTHING"
        return lambda batch: _executemany(connection, sql, batch)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return _PostgresCopy(connection, table, columns)
    if dialect.name == "postgresql":
        # RETURNING lists only the rows inserted, not those skipped.
        returning = postgresql.insert(USERS).on_conflict_do_nothing().returning(USERS.c.id)
        return lambda batch: _insert_returning(connection, returning, batch)
    if dialect.name in {"mysql", "mariadb"}:
        # A no-op update is MySQL's "do nothing"; INSERT IGNORE would also
        # turn other errors (a value too long, say) into warnings.
        upsert = mysql.insert(USERS).on_duplicate_key_update(id=USERS.c.id)
        return lambda batch: _insert_counting(connection, upsert, batch)
    raise NotImplementedError(f"seeding does not support {dialect.name} yet")


def _executemany(connection: Connection, sql: str, batch: Iterator[Record]) -> tuple[int, int]:
    rows = list(batch)
    # sqlite3 sums the changes of every row; a skipped row changes nothing.
    result = connection.exec_driver_sql(sql, rows)
    return len(rows), result.rowcount


def _insert_returning(
    connection: Connection, statement: Any, batch: Iterator[Record]
) -> tuple[int, int]:
    rows = [dict(zip(FIELDS, record, strict=True)) for record in batch]
    return len(rows), len(connection.execute(statement, rows).all())


def _insert_counting(
    connection: Connection, statement: Any, batch: Iterator[Record]
) -> tuple[int, int]:
    # MySQL reports a row found by ON DUPLICATE KEY as affected too (SQLAlchemy
    # asks for found rows), so the table is counted around the batch. InnoDB's
    # default REPEATABLE READ makes both counts this transaction's own view:
    # rows other sessions commit meanwhile are not in either.
    rows = [dict(zip(FIELDS, record, strict=True)) for record in batch]
    before = count_users(connection)
    connection.execute(statement, rows)
    return len(rows), count_users(connection) - before


class _PostgresCopy:
    def __init__(self, connection: Connection, table: str, columns: str) -> None:
        self.connection = connection
        self.table = table
        self.columns = columns
        self.staging_ready = False

    def __call__(self, batch: Iterator[Record]) -> tuple[int, int]:
        import psycopg

        # Kept for the fallback, which must send the batch a second time.
        sent: list[Record] = []
        savepoint = self.connection.begin_nested()
        try:
            self._copy(f"COPY {self.table} ({self.columns}) FROM STDIN", batch, sent)
        except psycopg.errors.UniqueViolation:
            savepoint.rollback()
            sent.extend(batch)  # whatever the failed COPY had not taken yet
            return len(sent), self._insert_missing(sent)
        savepoint.commit()
        return len(sent), len(sent)

    def _cursor(self) -> Any:
        # The psycopg connection under SQLAlchemy's, inside SQLAlchemy's
        # transaction: no psycopg transaction blocks, which would commit.
        return self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]

    def _copy(self, sql: str, batch: Iterable[Record], sent: list[Record] | None = None) -> None:
        with self._cursor() as cursor, cursor.copy(sql) as copy:
            write_row = copy.write_row
            if sent is None:
                for record in batch:
                    write_row(record)
            else:
                keep = sent.append
                for record in batch:
                    keep(record)
                    write_row(record)

    def _insert_missing(self, batch: list[Record]) -> int:
        """Insert the records of ``batch`` that are not present; how many that was."""
        with self._cursor() as cursor:
            if not self.staging_ready:
                # Every column as text: the values were validated already,
                # and the INSERT below casts them to the table's types.
                cursor.execute(
                    f"CREATE TEMPORARY TABLE seed_staging "
                    f"({', '.join(f'{field} text' for field in FIELDS)}) ON COMMIT DROP"
                )
                self.staging_ready = True
            else:
                cursor.execute("TRUNCATE seed_staging")
        self._copy(f"COPY seed_staging ({self.columns}) FROM STDIN", batch)
        with self._cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} ({self.columns}) "
                f"SELECT {self.columns} FROM seed_staging ON CONFLICT DO NOTHING"
            )
            return int(cursor.rowcount)


class _DryRun:
    """Counts the records that are not present yet, and inserts nothing into users.

    Inserting and rolling back would use up PostgreSQL sequence values and
    MySQL AUTO_INCREMENT values (neither is rolled back): the real load after
    a dry run would leave a gap in the ids. The batch goes into a temporary
    table instead, compared with users by the database (with its collation).
    """

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.staging = Table(
            "seed_dry_run",
            MetaData(),
            *(Column(field, USERS.c[field].type) for field in ("username", "email")),
            prefixes=["TEMPORARY"],
        )
        self.staging.create(connection)

    def __call__(self, batch: Iterator[Record]) -> tuple[int, int]:
        rows = [{"username": record[0], "email": record[1]} for record in batch]
        staging, users = self.staging.c, USERS.c
        self.connection.execute(self.staging.delete())
        self.connection.execute(insert(self.staging), rows)
        present = exists().where(
            or_(users.username == staging.username, users.email == staging.email)
        )
        absent = self.connection.execute(
            select(func.count()).select_from(self.staging).where(~present)
        ).scalar_one()
        return len(rows), int(absent)
