"""Writing rows with each backend's fastest bulk path, skipping rows already present.

A row that would break one of the table's unique keys is skipped, not an
error: every path below leaves conflicting rows out and carries on.

- SQLite: the driver's ``executemany`` with plain tuples and
  ``ON CONFLICT DO NOTHING`` (the ORM would be an order of magnitude slower).
- PostgreSQL with psycopg: ``COPY`` inside a savepoint; only if a batch hits
  an existing row is it copied into a staging table instead and inserted
  with ``ON CONFLICT DO NOTHING``.
- Other drivers (asyncpg, MySQL): SQLAlchemy Core ``insert`` with the
  dialect's conflict clause, executed as one executemany per batch (with
  ``RETURNING`` on PostgreSQL, which lists only the rows inserted).

The two raw paths (sqlite3, COPY) pass values to the driver without
SQLAlchemy, so they apply each column type's bind processor themselves
(JSON to text, for instance); the Core path has SQLAlchemy do it.

A NULL in a NOT NULL column with a database default (``server_default``)
stands for that default (seeding/columns.py): each path writes
``COALESCE(value, default)`` for it, the default as the table's DDL has it.
COPY cannot, so on PostgreSQL a batch with such a NULL takes the staging
table's path.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from itertools import chain, islice
from typing import Any, TypeVar

from sqlalchemy import Column, Table, and_, bindparam, exists, func, insert, or_, select, text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.elements import ColumnElement

from dbkit.seeding.columns import UniqueKey, database_default, keys_filled
from dbkit.seeding.staging import empty, temporary_table

Row = Sequence[Any]
T = TypeVar("T")
# A writer consumes one batch, given as an iterator, and returns how many
# rows it read and how many it inserted (the rest were present). Batches are
# iterators rather than lists so that PostgreSQL's COPY can send rows while
# they are still being read and checked: the server works on one batch while
# the client prepares it, as the raw driver's single COPY does. What was
# inserted is counted by each statement, never by counting the table before
# and after: another session may be inserting at the same time.
Writer = Callable[[Iterator[Row]], tuple[int, int]]


@contextmanager
def driver_errors(connection: Connection, sql: str) -> Iterator[None]:
    """Raise the driver's errors as SQLAlchemy's (IntegrityError, DataError, ...), as they
    are on the paths through SQLAlchemy, for a path that talks to the driver directly."""
    dbapi = connection.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as error:
        raise DBAPIError.instance(sql, None, error, dbapi.Error) from error


def batches(rows: Iterable[T], size: int) -> Iterator[Iterator[T]]:
    """``rows`` in consecutive batches of ``size``; consume each before the next."""
    iterator = iter(rows)
    for first in iterator:
        yield chain((first,), islice(iterator, size - 1))


def writer_for(
    connection: Connection,
    table: Table,
    columns: Sequence[Column[Any]],
    resources: ExitStack,
    *,
    dry_run: bool = False,
) -> Writer:
    """The fastest way to insert-unless-present ``columns`` of ``table`` on ``connection``.

    With ``dry_run``, a writer that only counts what would be inserted.
    Temporary tables the writer needs are dropped when ``resources`` closes.
    """
    if dry_run:
        return _DryRun(connection, table, columns, resources)
    dialect = connection.dialect
    defaults = _database_defaults(connection, columns)
    if dialect.name == "sqlite":
        sql = _insert_sql(connection, table, columns, defaults) + " ON CONFLICT DO NOTHING"
        process = _processors(connection, columns)
        return lambda batch: _executemany(connection, sql, process(batch))
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        return _PostgresCopy(connection, table, columns, defaults)
    # A defaulted column's value goes in under a name of its own: the
    # column's own name is SQLAlchemy's, for the VALUES clause.
    keys = [
        f"{column.key}_or_default" if position in defaults else column.key
        for position, column in enumerate(columns)
    ]
    values = {
        column.key: func.coalesce(bindparam(keys[position], type_=column.type), text(default))
        for position, column in enumerate(columns)
        if (default := defaults.get(position)) is not None
    }
    if dialect.name == "postgresql":
        # RETURNING lists only the rows inserted, not those skipped.
        first = table.primary_key.columns.values()[0]
        returning = (
            postgresql.insert(table).values(values).on_conflict_do_nothing().returning(first)
        )
        return lambda batch: _insert_returning(connection, returning, keys, batch)
    if dialect.name in {"mysql", "mariadb"}:
        # A no-op update is MySQL's "do nothing"; INSERT IGNORE would also
        # turn other errors (a value too long, say) into warnings.
        same = next(iter(table.primary_key.columns), columns[0])
        upsert = (
            mysql.insert(table)
            .values(values)
            .on_duplicate_key_update({same.key: table.c[same.key]})
        )
        return lambda batch: _insert_counting(connection, table, upsert, keys, batch)
    raise NotImplementedError(f"seeding does not support {dialect.name} yet")


def appender_for(
    connection: Connection, table: Table, columns: Sequence[Column[Any]]
) -> Callable[[Iterable[Row]], None]:
    """Plain inserts of rows of ``columns`` into ``table``, by the fastest path: for
    the seed's own temporary tables, which have no key to skip rows on."""
    process = _processors(connection, columns)
    if connection.dialect.name == "sqlite":
        sql = _insert_sql(connection, table, columns)

        def executemany(rows: Iterable[Row]) -> None:
            _executemany(connection, sql, process(rows))

        return executemany
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        quoted_table, names = _quoted(connection, table, columns)
        sql = f"COPY {quoted_table} ({names}) FROM STDIN"

        def copy(rows: Iterable[Row]) -> None:
            with driver_errors(connection, sql):
                _copy(connection, sql, process(rows))

        return copy
    keys = [column.key for column in columns]
    statement = insert(table)

    def execute(rows: Iterable[Row]) -> None:
        parameters = [dict(zip(keys, row, strict=True)) for row in rows]
        if parameters:
            connection.execute(statement, parameters)

    return execute


def _database_defaults(connection: Connection, columns: Sequence[Column[Any]]) -> dict[int, str]:
    """The positions in ``columns`` of those whose NULL stands for the database's
    default, each with that default in SQL, as the DDL writes it."""
    dialect = connection.dialect
    # A compiler of no statement: only its rendering of a column's default is used.
    compiler = dialect.ddl_compiler(dialect, None)  # type: ignore[arg-type]
    return {
        position: sql
        for position, column in enumerate(columns)
        if database_default(column) and (sql := compiler.get_column_default_string(column))
    }


def _quoted(
    connection: Connection, table: Table, columns: Sequence[Column[Any]]
) -> tuple[str, str]:
    """``table``'s name and ``columns``' names, comma-separated, quoted for raw SQL."""
    preparer = connection.dialect.identifier_preparer
    return preparer.format_table(table), ", ".join(preparer.quote(c.name) for c in columns)


def _insert_sql(
    connection: Connection,
    table: Table,
    columns: Sequence[Column[Any]],
    defaults: dict[int, str] | None = None,
) -> str:
    """The sqlite3 driver's ``INSERT`` of one row of ``columns``; NULL in a column of
    ``defaults`` (position: SQL) is that default."""
    quoted_table, names = _quoted(connection, table, columns)
    defaults = defaults or {}
    placeholders = ", ".join(
        f"COALESCE(?, {defaults[position]})" if position in defaults else "?"
        for position in range(len(columns))
    )
    return f"INSERT INTO {quoted_table} ({names}) VALUES ({placeholders})"


def _cursor(connection: Connection) -> Any:
    """A cursor of the psycopg connection under SQLAlchemy's, inside SQLAlchemy's
    transaction: no psycopg transaction blocks, which would commit."""
    return connection.connection.driver_connection.cursor()  # type: ignore[union-attr]


def _copy(
    connection: Connection, sql: str, rows: Iterable[Row], sent: list[Row] | None = None
) -> None:
    """``COPY ... FROM STDIN`` of ``rows`` on psycopg, each appended to ``sent`` if given."""
    with _cursor(connection) as cursor, cursor.copy(sql) as copy:
        write_row = copy.write_row
        if sent is None:
            for row in rows:
                write_row(row)
        else:  # the same loop, once per row of millions: no generator in between
            keep = sent.append
            for row in rows:
                keep(row)
                write_row(row)


def _processors(
    connection: Connection, columns: Sequence[Column[Any]]
) -> Callable[[Iterable[Row]], Iterable[Row]]:
    """What turns rows into what the driver takes, for a path that bypasses SQLAlchemy."""
    dialect = connection.dialect
    processors = [column.type.dialect_impl(dialect).bind_processor(dialect) for column in columns]
    if not any(processors):
        return lambda rows: rows
    pairs = [(index, processor) for index, processor in enumerate(processors) if processor]

    def process(rows: Iterable[Row]) -> Iterator[Row]:
        for row in rows:
            converted = list(row)
            for index, processor in pairs:
                if converted[index] is not None:
                    converted[index] = processor(converted[index])
            yield converted

    return process


def _executemany(connection: Connection, sql: str, batch: Iterable[Row]) -> tuple[int, int]:
    if connection.dialect.driver != "pysqlite":  # aiosqlite, through SQLAlchemy
        tuples = [tuple(row) for row in batch]
        return len(tuples), connection.exec_driver_sql(sql, tuples).rowcount
    rows = list(batch)
    # sqlite3's own cursor, in SQLAlchemy's transaction: it takes rows as
    # they are (lists), where exec_driver_sql wants tuples.
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with driver_errors(connection, sql):
            cursor.executemany(sql, rows)
        # sqlite3 sums the changes of every row; a skipped row changes nothing.
        return len(rows), cursor.rowcount
    finally:
        cursor.close()


def _insert_returning(
    connection: Connection, statement: Any, keys: list[str], batch: Iterator[Row]
) -> tuple[int, int]:
    rows = [dict(zip(keys, row, strict=True)) for row in batch]
    return len(rows), len(connection.execute(statement, rows).all())


def _count(connection: Connection, table: Table) -> int:
    return int(connection.execute(select(func.count()).select_from(table)).scalar_one())


def _insert_counting(
    connection: Connection, table: Table, statement: Any, keys: list[str], batch: Iterator[Row]
) -> tuple[int, int]:
    # MySQL reports a row found by ON DUPLICATE KEY as affected too (SQLAlchemy
    # asks for found rows), so the table is counted around the batch. InnoDB's
    # default REPEATABLE READ makes both counts this transaction's own view:
    # rows other sessions commit meanwhile are not in either.
    rows = [dict(zip(keys, row, strict=True)) for row in batch]
    before = _count(connection, table)
    connection.execute(statement, rows)
    return len(rows), _count(connection, table) - before


class _PostgresCopy:
    def __init__(
        self,
        connection: Connection,
        table: Table,
        columns: Sequence[Column[Any]],
        defaults: dict[int, str],
    ) -> None:
        import psycopg

        self.connection = connection
        self.table, self.names = _quoted(connection, table, columns)
        self.process = _processors(connection, columns)
        self.staging: str | None = None
        # What the staging table's rows go into the table as: a NULL in a
        # column with a database default becomes the default.
        preparer = connection.dialect.identifier_preparer
        self.selected = ", ".join(
            f"COALESCE({preparer.quote(column.name)}, {defaults[position]})"
            if position in defaults
            else preparer.quote(column.name)
            for position, column in enumerate(columns)
        )
        # COPY writes a NULL as it is, which a NOT NULL column refuses.
        self.refused = (
            (psycopg.errors.UniqueViolation, psycopg.errors.NotNullViolation)
            if defaults
            else (psycopg.errors.UniqueViolation,)
        )

    def __call__(self, batch: Iterator[Row]) -> tuple[int, int]:
        rows = self.process(batch)
        # Kept for the fallback, which must send the batch a second time.
        sent: list[Row] = []
        savepoint = self.connection.begin_nested()
        sql = f"COPY {self.table} ({self.names}) FROM STDIN"
        try:
            with driver_errors(self.connection, sql):
                try:
                    _copy(self.connection, sql, rows, sent)
                except self.refused:
                    savepoint.rollback()
                    sent.extend(rows)  # whatever the failed COPY had not taken yet
                    return len(sent), self._insert_missing(sent)
        except BaseException:
            if savepoint.is_active:
                savepoint.rollback()
            raise
        savepoint.commit()
        return len(sent), len(sent)

    def _insert_missing(self, batch: list[Row]) -> int:
        """Insert the rows of ``batch`` that are not present; how many that was."""
        with _cursor(self.connection) as cursor:
            if self.staging is None:
                # The table's own column types, and none of its constraints
                # or defaults (a default would use up sequence values); a
                # name of its own, for each load of a run.
                self.staging = f"seed_staging_{uuid.uuid4().hex[:12]}"
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {self.staging} ON COMMIT DROP AS "
                    f"SELECT {self.names} FROM {self.table} WITH NO DATA"
                )
            else:
                cursor.execute(f"TRUNCATE {self.staging}")
        _copy(self.connection, f"COPY {self.staging} ({self.names}) FROM STDIN", batch)
        with _cursor(self.connection) as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} ({self.names}) "
                f"SELECT {self.selected} FROM {self.staging} ON CONFLICT DO NOTHING"
            )
            return int(cursor.rowcount)


class _DryRun:
    """Counts the rows that are not present yet, and inserts nothing into the table.

    Inserting and rolling back would use up PostgreSQL sequence values and
    MySQL AUTO_INCREMENT values (neither is rolled back): the real load after
    a dry run would leave a gap in the ids. The batch's unique keys go into a
    temporary table instead, compared with the table by the database (with
    its collation).
    """

    def __init__(
        self,
        connection: Connection,
        table: Table,
        columns: Sequence[Column[Any]],
        resources: ExitStack,
    ) -> None:
        self.connection = connection
        filled = keys_filled(table, columns, connection.dialect.name)
        self.keys = [key for key, _ in filled]
        self.positions = sorted({position for _, positions in filled for position in positions})
        self.key_columns = [columns[position] for position in self.positions]
        self.table = table
        # With no unique key nothing can make a row present, and there is
        # nothing to stage (SQLite refuses a table of no columns).
        self.staging = (
            resources.enter_context(
                temporary_table(
                    connection,
                    "dry_run",
                    *(Column(column.name, column.type) for column in self.key_columns),
                )
            )
            if self.keys
            else None
        )
        if self.staging is not None:
            self.append = appender_for(connection, self.staging, list(self.staging.columns))

    def __call__(self, batch: Iterator[Row]) -> tuple[int, int]:
        if self.staging is None:
            read = sum(1 for _ in batch)
            return read, read
        rows = [[row[position] for position in self.positions] for row in batch]
        empty(self.connection, self.staging)
        self.append(rows)
        # An EXISTS per key, each of which can use that key's index (MySQL
        # cannot for one EXISTS over an OR of the keys).
        present = or_(*(self._present(key) for key in self.keys))
        absent = self.connection.execute(
            select(func.count()).select_from(self.staging).where(~present)
        ).scalar_one()
        return len(rows), int(absent)

    def _present(self, key: UniqueKey) -> ColumnElement[bool]:
        """Whether the table has a row with a staged row's ``key`` (as the database compares)."""
        assert self.staging is not None
        staged, where = key.on({column.name: column for column in self.staging.c})
        stored, stored_where = key.on({column.name: column for column in self.table.c})
        conditions = [a == b for a, b in zip(stored, staged, strict=True)]
        # A partial index: only rows it covers, on both sides.
        conditions += [c for c in (where, stored_where) if c is not None]
        return exists().where(and_(*conditions))
