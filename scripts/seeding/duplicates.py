"""Rows of one input that share a unique key, judged as the target database judges them.

Two values are one key when the database says so: on MySQL and MariaDB a
case- and accent-insensitive collation makes ``jose`` and ``José`` one
username, on PostgreSQL and SQLite they are two. A key whose columns the
database compares exactly (every type but text, and text without a
collation on PostgreSQL and SQLite) is checked here, by 64-bit hashes of the
values held in arrays: memory per row is a hash and a line number, not the
row. (A hash collision, a chance of about 3 in 100 million for a million
rows, would be reported as a false duplicate.) Any other key is copied into a
temporary table with the column's own type and compared by the database.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from sqlalchemy import BigInteger, Column, String, func, insert, select
from sqlalchemy.engine import Connection

from seeding.columns import base_type
from seeding.staging import temporary_table

Report = Callable[[int, str, str], None]
Row = Sequence[Any]


def compared_exactly(column: Column[Any], dialect_name: str) -> bool:
    """Whether the database finds two values of ``column`` equal only when Python does."""
    type_ = base_type(column.type)
    if type(type_).__name__ == "CITEXT":  # PostgreSQL's case-insensitive text
        return False
    if not isinstance(type_, String):
        return True
    return dialect_name in {"postgresql", "sqlite"} and type_.collation is None


class _ExactKey:
    def __init__(self, heading: str, positions: list[int]) -> None:
        self.heading = heading
        self.positions = positions
        self.lines = array("q")
        self.hashes = array("q")

    def add(self, pairs: Sequence[tuple[int, Row]]) -> None:
        """Note the key of each ``(line, row)``."""
        if len(self.positions) == 1:  # the usual key, and the quick way
            position = self.positions[0]
            keys: list[Any] = [row[position] for _, row in pairs]
        else:
            keys = [tuple(row[p] for p in self.positions) for _, row in pairs]
        if None in keys or (len(self.positions) > 1 and any(None in key for key in keys)):
            # NULLs never conflict: leave those rows out.
            kept = [
                (line, key)
                for (line, _), key in zip(pairs, keys, strict=True)
                if key is not None and not (isinstance(key, tuple) and None in key)
            ]
            self.lines.extend([line for line, _ in kept])
            self.hashes.extend([hash(key) for _, key in kept])
            return
        self.lines.extend([line for line, _ in pairs])
        self.hashes.extend(map(hash, keys))

    def report(self, report: Report) -> None:
        if len(set(self.hashes)) == len(self.hashes):
            return  # the usual case: no two keys alike
        first_line: dict[int, int] = {}
        for key, line in zip(self.hashes, self.lines, strict=True):
            earlier = first_line.setdefault(key, line)
            if earlier != line:
                report(line, self.heading, f"duplicates line {earlier}")


class _StagedKey:
    def __init__(
        self,
        connection: Connection,
        heading: str,
        columns: Sequence[Column[Any]],
        positions: list[int],
        resources: ExitStack,
    ) -> None:
        self.connection = connection
        self.heading = heading
        self.positions = positions
        self.staging = resources.enter_context(
            temporary_table(
                connection,
                "keys",
                Column("line", BigInteger()),
                *(Column(f"k{index}", column.type) for index, column in enumerate(columns)),
            )
        )
        self.names = [f"k{index}" for index in range(len(columns))]
        self.pending: list[dict[str, Any]] = []

    def add(self, pairs: Sequence[tuple[int, Row]]) -> None:
        for line, row in pairs:
            values = [row[position] for position in self.positions]
            if None not in values:
                self.pending.append({"line": line, **dict(zip(self.names, values, strict=True))})

    def flush(self) -> None:
        if self.pending:
            self.connection.execute(insert(self.staging), self.pending)
            self.pending = []

    def report(self, report: Report) -> None:
        self.flush()
        keys = [self.staging.c[name] for name in self.names]
        first = func.min(self.staging.c.line).over(partition_by=keys).label("first")
        numbered = select(self.staging.c.line, first).subquery()
        query = (
            select(numbered.c.line, numbered.c.first)
            .where(numbered.c.line != numbered.c.first)
            .order_by(numbered.c.line)
        )
        for line, earlier in self.connection.execute(query):
            report(line, self.heading, f"duplicates line {earlier}")


class Duplicates:
    """Finds rows of one input whose unique key an earlier row already has."""

    def __init__(
        self,
        connection: Connection,
        keys: Sequence[tuple[str, Sequence[Column[Any]], list[int]]],
        resources: ExitStack,
    ) -> None:
        """``keys``: (heading to report, the key's columns, their positions in a row)."""
        dialect = connection.dialect.name
        self.keys: list[_ExactKey | _StagedKey] = [
            _ExactKey(heading, positions)
            if all(compared_exactly(column, dialect) for column in columns)
            else _StagedKey(connection, heading, columns, positions, resources)
            for heading, columns, positions in keys
        ]

    def __bool__(self) -> bool:
        return bool(self.keys)

    def add(self, pairs: Sequence[tuple[int, Row]]) -> None:
        """Note the keys of each ``(line, row)`` of a batch."""
        for key in self.keys:
            key.add(pairs)

    def flush(self) -> None:
        for key in self.keys:
            if isinstance(key, _StagedKey):
                key.flush()

    def report(self, report: Report) -> None:
        for key in self.keys:
            key.report(report)
