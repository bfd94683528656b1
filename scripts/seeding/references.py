"""Foreign keys given by natural key: ``user.username`` in a file becomes ``user_id``.

The ids are looked up in the database, in the seed's own transaction, so a
parent loaded earlier in the same run is found too, and the database matches
the values as it matches everything else (on MySQL, ``José`` finds ``jose``).
Where it compares text exactly, a batch's values are
looked up directly (``= ANY(array)`` on PostgreSQL, ``IN json_each(...)`` on
SQLite: one parameter for the batch); otherwise they go into a temporary table of the
unique column's own type, joined with the parent table, which tells which
given value found which row.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any

from sqlalchemy import Column, String, Table, any_, bindparam, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from seeding.columns import Field, Reference, base_type
from seeding.staging import temporary_table

Report = Callable[[int, str, str], None]


def compared_exactly(column: Column[Any], dialect_name: str) -> bool:
    """Whether the database finds two values of ``column`` equal only when Python does."""
    type_ = base_type(column.type)
    if type(type_).__name__ == "CITEXT":  # PostgreSQL's case-insensitive text
        return False
    if not isinstance(type_, String):
        return True
    return dialect_name in {"postgresql", "sqlite"} and type_.collation is None


class _Lookup:
    def __init__(self, connection: Connection, reference: Reference, resources: ExitStack) -> None:
        self.connection = connection
        self.reference = reference
        self.resources = resources
        self.exact = compared_exactly(reference.by, connection.dialect.name)
        self.staging: Table | None = None

    def ids(self, values: set[Any]) -> dict[Any, Any]:
        """The parent id for each value of ``values`` that a parent row has."""
        by, to = self.reference.by, self.reference.to
        if self.exact:
            # The database returns the values as given, so they can be asked
            # for directly, through the unique column's index.
            return dict(self.connection.execute(self._exact_query(values)).all())
        if self.staging is None:
            self.staging = self.resources.enter_context(
                temporary_table(self.connection, "lookup", Column("value", by.type))
            )
        self.connection.execute(self.staging.delete())
        self.connection.execute(insert(self.staging), [{"value": value} for value in values])
        given = self.staging.c.value
        query = select(given, to).join_from(self.staging, by.table, by == given)
        return dict(self.connection.execute(query).all())

    def _exact_query(self, values: set[Any]) -> Any:
        """The (value, id) rows for ``values``, with one bound parameter where the
        backend can take a list as one (thousands of parameters make a query slow
        to build and to plan)."""
        by, to = self.reference.by, self.reference.to
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
        self, connection: Connection, fields: Sequence[Field], resources: ExitStack
    ) -> None:
        self.lookups = [
            (position, field.heading, _Lookup(connection, field.reference, resources))
            for position, field in enumerate(fields)
            if field.reference is not None
        ]

    def __bool__(self) -> bool:
        return bool(self.lookups)

    def resolve(
        self, rows: list[tuple[int, list[Any]]], report: Report
    ) -> list[tuple[int, list[Any]]]:
        """``rows`` with ids in place of natural keys; a row whose key has no match is
        reported and left out."""
        missing: set[int] = set()
        for position, heading, lookup in self.lookups:
            values = {row[position] for _, row in rows if row[position] is not None}
            if not values:
                continue
            ids = lookup.ids(values)
            reference = lookup.reference
            for line, row in rows:
                value = row[position]
                if value is None:
                    continue
                found = ids.get(value, _MISSING)
                if found is _MISSING:
                    report(
                        line,
                        heading,
                        f"no {reference.by.table.name} row with {reference.by.name} {value!r}",
                    )
                    missing.add(line)
                else:
                    row[position] = found
        return [(line, row) for line, row in rows if line not in missing] if missing else rows


_MISSING = object()
