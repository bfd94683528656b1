"""Temporary tables the seed works with inside its transaction."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Column, MetaData, Table
from sqlalchemy.engine import Connection


@contextmanager
def temporary_table(connection: Connection, purpose: str, *columns: Column[Any]) -> Iterator[Table]:
    """A temporary table of ``columns``, dropped afterwards.

    Its name is unique, because MySQL keeps temporary tables for the whole
    session, through a rollback, and a session may run several loads.
    """
    table = Table(
        f"seed_{purpose}_{uuid.uuid4().hex[:12]}",
        MetaData(),
        *columns,
        prefixes=["TEMPORARY"],
    )
    table.create(connection)
    yield table
    # Not on an exception: the transaction is rolled back then, and
    # PostgreSQL cannot run anything more in a failed transaction.
    if connection.dialect.name in {"mysql", "mariadb"}:
        # A plain DROP TABLE would commit the seed's transaction half way.
        name = connection.dialect.identifier_preparer.format_table(table)
        connection.exec_driver_sql(f"DROP TEMPORARY TABLE {name}")
    else:
        table.drop(connection)


def empty(connection: Connection, table: Table) -> None:
    """Delete every row of the temporary ``table``, for the next batch.

    On PostgreSQL with TRUNCATE: rows a DELETE removes stay in the table,
    dead, for every later scan to step over (autovacuum never visits a
    temporary table), and a dry run of a million rows spent a third of its
    time on them.
    """
    if connection.dialect.name == "postgresql":
        name = connection.dialect.identifier_preparer.format_table(table)
        connection.exec_driver_sql(f"TRUNCATE {name}")
    else:
        connection.execute(table.delete())
