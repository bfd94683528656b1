"""Rows of one input that share a unique key, judged as the target database judges them.

Two values are one key when the database says so: on MySQL and MariaDB a
case- and accent-insensitive collation makes ``jose`` and ``José`` one
username, on PostgreSQL and SQLite they are two. So the keys of the input
(with the line they are on) are copied into a temporary table, each column
with its own type, and the database compares them, by the key's own
expressions (``lower(name)``) and only among the rows a partial index
covers. That also keeps the
seed's memory flat however long the input: the keys wait on the server,
not in this process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from sqlalchemy import BigInteger, Column, and_, func, select
from sqlalchemy.engine import Connection

from dbkit.seeding.columns import UniqueKey
from dbkit.seeding.staging import temporary_table
from dbkit.seeding.writers import appender_for

Report = Callable[[int, str, str], None]
Row = Sequence[Any]


class Duplicates:
    """Finds rows of one input whose unique key an earlier row already has."""

    def __init__(
        self,
        connection: Connection,
        keys: Sequence[tuple[str, UniqueKey, list[int]]],
        resources: ExitStack,
    ) -> None:
        """``keys``: (heading to report, the key, the positions of its columns in a row)."""
        self.connection = connection
        # One staging row per input row: its line and every column of any key.
        self.positions = sorted({position for _, _, positions in keys for position in positions})
        if not self.positions:
            self.keys: list[tuple[str, UniqueKey, dict[str, str]]] = []
            return
        types = {
            position: column.type
            for _, key, positions in keys
            for column, position in zip(key.columns, positions, strict=True)
        }
        self.staging = resources.enter_context(
            temporary_table(
                connection,
                "keys",
                Column("line", BigInteger()),
                *(Column(f"c{position}", types[position]) for position in self.positions),
            )
        )
        self.keys = [
            (
                heading,
                key,
                {
                    column.name: f"c{position}"
                    for column, position in zip(key.columns, positions, strict=True)
                },
            )
            for heading, key, positions in keys
        ]
        self.append = appender_for(connection, self.staging, list(self.staging.columns))

    def __bool__(self) -> bool:
        return bool(self.keys)

    def add(self, pairs: Sequence[tuple[int, Row]]) -> None:
        """Note the keys of each ``(line, row)`` of a batch."""
        if not self.keys:
            return
        if len(self.positions) == 1:  # one key of one column: the usual case, the quick way
            (position,) = self.positions
            self.append([(line, row[position]) for line, row in pairs])
        else:
            self.append([(line, *(row[p] for p in self.positions)) for line, row in pairs])

    def report(self, report: Report) -> None:
        """Report each row whose key an earlier row has, in the order of the input."""
        for heading, key, names in self.keys:
            parts, where = key.on({name: self.staging.c[staged] for name, staged in names.items()})
            first = func.min(self.staging.c.line).over(partition_by=parts).label("first")
            # A key with a NULL in it never conflicts.
            numbered = (
                select(self.staging.c.line, first)
                .where(and_(*(part.is_not(None) for part in parts)))
                .where(*(() if where is None else (where,)))
                .subquery()
            )
            query = (
                select(numbered.c.line, numbered.c.first)
                .where(numbered.c.line != numbered.c.first)
                .order_by(numbered.c.line)
            )
            for line, earlier in self.connection.execute(query):
                report(line, heading, f"duplicates line {earlier}")
