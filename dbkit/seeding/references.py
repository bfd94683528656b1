"""Foreign keys given by natural key: ``user.username`` in a file becomes ``user_id``.

The ids are looked up in the database, in the seed's own transaction, so a
parent loaded earlier in the same run is found too, and the database matches
the values as it matches everything else (on MySQL, ``José`` finds ``jose``).
Where it compares text exactly, a batch's values are looked up directly
(``= ANY(array)`` on PostgreSQL, ``IN json_each(...)`` on SQLite: one
parameter for the batch); otherwise they go into a temporary table of the
unique column's own type, joined with the parent table, which tells which
given value found which row.

A table may refer to itself (a topic's parent topic): a parent given in the
same input is found once it is written, so a batch is handed out in groups,
parents before their children. Rows that are not written (a dry run, or the
rest of an input after a problem) are noted in :class:`Unwritten`, so that
the rows referring to them are still found.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Column, String, Table, any_, bindparam, func, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from dbkit.seeding.columns import Field, Reference, base_type, unique_alone
from dbkit.seeding.staging import empty, temporary_table
from dbkit.seeding.writers import appender_for

Report = Callable[[int, str, str], None]
Pair = tuple[int, list[Any]]  # (line, row)


def referred_to(table: Table) -> bool:
    """Whether a foreign key of a table in ``table``'s metadata (itself included) points at it."""
    return any(
        key.target_fullname.rpartition(".")[0] == table.fullname
        for other in table.metadata.tables.values()
        for key in other.foreign_keys
    )


def compared_exactly(column: Column[Any], dialect_name: str) -> bool:
    """Whether the database finds two values of ``column`` equal only when Python does."""
    type_ = base_type(column.type)
    if type(type_).__name__ == "CITEXT":  # PostgreSQL's case-insensitive text
        return False
    if not isinstance(type_, String):
        return True
    return dialect_name in {"postgresql", "sqlite"} and type_.collation is None


@dataclass
class _Noted:
    """One table's unwritten rows: the temporary table, how to append to it, how many."""

    staged: Table
    append: Callable[[Iterable[Sequence[Any]]], None]
    count: int = 0


class Unwritten:
    """Rows a run has read but not written, for natural keys to find: kept in a
    temporary table per table, with their columns that are unique alone and a
    stand-in id (negative, so it is never a real row's; None where the ids are
    not whole numbers)."""

    def __init__(self, connection: Connection, resources: ExitStack) -> None:
        self.connection = connection
        self.resources = resources
        self.tables: dict[str, _Noted | None] = {}

    def note(self, table: Table, columns: Sequence[Column[Any]], rows: Sequence[list[Any]]) -> None:
        """Note ``rows`` (of ``columns``) of ``table`` as read and not written."""
        if table.name not in self.tables:
            self.tables[table.name] = self._stage(columns)
        noted = self.tables[table.name]
        if noted is None or not rows:
            return  # no column a natural key could name
        position = {column.name: index for index, column in enumerate(columns)}
        positions = [position[column.name] for column in list(noted.staged.columns)[1:]]
        start = noted.count
        noted.count += len(rows)
        noted.append(
            [
                [-(start + number), *(row[index] for index in positions)]
                for number, row in enumerate(rows, 1)
            ]
        )

    def _stage(self, columns: Sequence[Column[Any]]) -> _Noted | None:
        unique = [column for column in columns if unique_alone(column)]
        if not unique:
            return None
        staged = self.resources.enter_context(
            temporary_table(
                self.connection,
                "unwritten",
                Column("id", BigInteger()),
                *(Column(column.name, column.type) for column in unique),
            )
        )
        return _Noted(staged, appender_for(self.connection, staged, list(staged.columns)))

    def ids(self, reference: Reference, values: set[Any], find: _Find) -> dict[Any, Any]:
        """The stand-in id for each value of ``values`` that an unwritten row has."""
        noted = self.tables.get(reference.to.table.name)
        if noted is None or reference.by.name not in noted.staged.c:
            return {}
        staged = noted.staged
        found = find(staged.c[reference.by.name], staged.c.id, values)
        if _whole_numbers(reference.column):
            return found
        return dict.fromkeys(found)


def _whole_numbers(column: Column[Any]) -> bool:
    try:
        return column.type.python_type is int
    except NotImplementedError:
        return False


_Find = Callable[[Column[Any], Column[Any], set[Any]], dict[Any, Any]]


class _Lookup:
    def __init__(
        self,
        connection: Connection,
        reference: Reference,
        resources: ExitStack,
        unwritten: Unwritten | None,
    ) -> None:
        self.connection = connection
        self.reference = reference
        self.resources = resources
        self.unwritten = unwritten
        self.exact = compared_exactly(reference.by, connection.dialect.name)
        self.staging: Table | None = None

    def ids(self, values: set[Any]) -> dict[Any, Any]:
        """The parent id for each value of ``values`` that a parent row has."""
        found = self._find(self.reference.by, self.reference.to, values)
        if self.unwritten is not None and len(found) < len(values):
            missing = values - found.keys()
            found.update(self.unwritten.ids(self.reference, missing, self._find))
        return found

    def _find(self, by: Column[Any], to: Column[Any], values: set[Any]) -> dict[Any, Any]:
        """``to`` for each value of ``values`` that ``by`` has, in ``by``'s table."""
        if self.exact:
            # The database returns the values as given, so they can be asked
            # for directly, through the unique column's index.
            return dict(self.connection.execute(self._exact_query(by, to, values)).all())
        if self.staging is None:
            self.staging = self.resources.enter_context(
                temporary_table(self.connection, "lookup", Column("value", by.type))
            )
            self.append = appender_for(self.connection, self.staging, [self.staging.c.value])
        empty(self.connection, self.staging)
        self.append([(value,) for value in values])
        given = self.staging.c.value
        query = select(given, to).join_from(self.staging, by.table, by == given)
        return dict(self.connection.execute(query).all())

    def _exact_query(self, by: Column[Any], to: Column[Any], values: set[Any]) -> Any:
        """The (value, id) rows for ``values``, with one bound parameter where the
        backend can take a list as one (thousands of parameters make a query slow
        to build and to plan)."""
        dialect = self.connection.dialect.name
        if dialect == "postgresql":
            given = bindparam("values", list(values), type_=postgresql.ARRAY(by.type))
            return select(by, to).where(by == any_(given))
        if dialect == "sqlite" and all(type(value) in (str, int) for value in values):
            listed = func.json_each(json.dumps(list(values))).table_valued("value")
            return select(by, to).where(by.in_(select(listed.c.value)))
        return select(by, to).where(by.in_(list(values)))


class References:
    """Replaces the natural keys in rows by the ids they stand for."""

    def __init__(
        self,
        connection: Connection,
        fields: Sequence[Field],
        resources: ExitStack,
        unwritten: Unwritten | None = None,
    ) -> None:
        table = fields[0].column.table if fields else None
        plain = {
            field.column.name: index for index, field in enumerate(fields) if not field.reference
        }
        # (position in a row, heading, lookup) of foreign keys to other tables,
        # and (..., position of the parent's value in a row) of those to the
        # table's own rows, which may be given in the same input.
        self.others: list[tuple[int, str, _Lookup]] = []
        self.own: list[tuple[int, str, _Lookup, int]] = []
        for position, field in enumerate(fields):
            reference = field.reference
            if reference is None:
                continue
            lookup = _Lookup(connection, reference, resources, unwritten)
            parent = plain.get(reference.by.name) if reference.to.table is table else None
            if parent is None:
                self.others.append((position, field.heading, lookup))
            else:
                self.own.append((position, field.heading, lookup, parent))

    def __bool__(self) -> bool:
        return bool(self.others or self.own)

    @property
    def refers_to_itself(self) -> bool:
        """Whether a row may refer to another row of the same input."""
        return bool(self.own)

    def groups(self, rows: list[Pair], report: Report) -> Iterator[list[Pair]]:
        """``rows`` with ids in place of natural keys, in groups to be written in turn:
        a row whose parent is another row of ``rows`` comes in a group after it.

        A row whose key has no match is reported and left out.
        """
        pending = self._resolve(rows, report, self.others)
        while self.own and pending:
            ready, waiting = self._resolve_own(pending)
            if not ready:
                # Nothing more can be found: parents that are nowhere, or in a cycle.
                self._resolve(waiting, report, [lookup[:3] for lookup in self.own])
                return
            yield ready
            pending = waiting
        if pending:
            yield pending

    @staticmethod
    def _resolve(
        rows: list[Pair], report: Report, lookups: Sequence[tuple[int, str, _Lookup]]
    ) -> list[Pair]:
        """``rows`` with ids in place of the natural keys of ``lookups``; a row whose key
        has no match is reported and left out."""
        missing: set[int] = set()
        for position, heading, lookup in lookups:
            values = {row[position] for _, row in rows if row[position] is not None}
            if not values:
                continue
            ids = lookup.ids(values)
            by = lookup.reference.by
            for line, row in rows:
                value = row[position]
                if value is None:
                    continue
                found = ids.get(value, _MISSING)
                if found is _MISSING:
                    report(line, heading, f"no {by.table.name} row with {by.name} {value!r}")
                    missing.add(line)
                else:
                    row[position] = found
        return [(line, row) for line, row in rows if line not in missing] if missing else rows

    def _resolve_own(self, rows: list[Pair]) -> tuple[list[Pair], list[Pair]]:
        """(rows whose parents all have ids, with the ids in place; rows waiting for a
        parent among ``rows``, unchanged, or for one that is nowhere)."""
        found = []
        for position, _, lookup, _ in self.own:
            values = {row[position] for _, row in rows if row[position] is not None}
            found.append(lookup.ids(values) if values else {})
        ready: list[Pair] = []
        waiting: list[Pair] = []
        for line, row in rows:
            ids = [
                None if row[position] is None else known.get(row[position], _MISSING)
                for (position, *_), known in zip(self.own, found, strict=True)
            ]
            if _MISSING in ids:
                waiting.append((line, row))
                continue
            for (position, *_), id_ in zip(self.own, ids, strict=True):
                row[position] = id_
            ready.append((line, row))
        return ready, waiting


_MISSING = object()
