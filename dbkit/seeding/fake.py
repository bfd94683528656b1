"""Generated rows for any table: deterministic, valid for their types, unique where the
table says so.

Row ``n`` (from 1) is a function of ``n`` alone, so the same N always gives
the same rows. A column is left to the database when it fills it (its
primary key, a server default); a column with a Python default gets it. A
model can choose a column's values itself with ``info={"fake": function}``,
a function of ``n``. A foreign key points at an existing parent row, the
parents taken in turn.
"""

from __future__ import annotations

import uuid
from array import array
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Float,
    Integer,
    Numeric,
    String,
    Table,
    Time,
    Uuid,
    select,
)
from sqlalchemy.engine import Connection

from dbkit.seeding.columns import base_type, python_default, seedable_columns, unique_keys

Make = Callable[[int], Any]
EPOCH = datetime(2000, 1, 1)


class CannotGenerate(Exception):
    """A column whose values cannot be made up from its type."""


def fake_columns(table: Table) -> list[Column[Any]]:
    """The columns generated rows fill: what the database and defaults leave open."""
    return [
        column
        for column in seedable_columns(table)
        if column.server_default is None or "fake" in column.info
    ]


def fake_rows(connection: Connection, table: Table, count: int) -> Iterator[tuple[Any, ...]]:
    """Rows 1 to ``count`` of ``table``, in the order of :func:`fake_columns`."""
    makers = [_maker(connection, column) for column in fake_columns(table)]
    # A column at a time, zipped into rows in C: the fastest way Python has.
    return zip(*(map(make, range(1, count + 1)) for make in makers), strict=True)


def _maker(connection: Connection, column: Column[Any]) -> Make:
    if "fake" in column.info:
        return column.info["fake"]  # type: ignore[no-any-return]
    make_default = python_default(column)
    if make_default is not None:
        return lambda n: make_default()
    if column.foreign_keys:
        return _parent(connection, column)
    unique = any(column.name in {c.name for c in key.columns} for key in unique_keys(column.table))
    return _from_type(column, unique)


def _parent(connection: Connection, column: Column[Any]) -> Make:
    (foreign_key,) = column.foreign_keys
    to = foreign_key.column
    found = connection.execute(select(to).order_by(to)).scalars()
    # An array holds a million integer ids in 8 MB, a list in 36 MB.
    ids = array("q", found) if isinstance(base_type(to.type), Integer) else list(found)
    if ids:
        return lambda n: ids[(n - 1) % len(ids)]
    if column.nullable:
        return lambda n: None
    raise CannotGenerate(
        f"{column.table.name}.{column.name} must refer to a {to.table.name} row, "
        f"and {to.table.name} has none: seed {to.table.name} first"
    )


def _from_type(column: Column[Any], unique: bool) -> Make:
    type_ = base_type(column.type)
    name = column.name
    if isinstance(type_, Enum):
        values = type_.enums
        return lambda n: values[n % len(values)]
    if isinstance(type_, Uuid):
        as_uuid = type_.as_uuid
        return lambda n: uuid.UUID(int=n) if as_uuid else str(uuid.UUID(int=n))
    if isinstance(type_, String):
        return _text(column, type_.length)
    if isinstance(type_, Boolean):
        return lambda n: n % 2 == 0
    if isinstance(type_, Integer):
        return lambda n: n
    if isinstance(type_, Float):
        return lambda n: n / 4
    if isinstance(type_, Numeric):
        whole = 10 ** max(min((type_.precision or 10) - (type_.scale or 0), 9), 0)
        scale = type_.scale or 0
        return lambda n: (
            Decimal(n % whole if not unique else n).scaleb(0).quantize(Decimal(1).scaleb(-scale))
        )
    if isinstance(type_, DateTime):
        zone = timezone.utc if type_.timezone else None
        start = EPOCH.replace(tzinfo=zone)
        return lambda n: start + timedelta(minutes=n)
    if isinstance(type_, Date):
        return lambda n: EPOCH.date() + timedelta(days=n % 36500)
    if isinstance(type_, Time):
        return lambda n: time(n // 60 % 24, n % 60)
    if isinstance(type_, JSON):
        return lambda n: {name: n}
    if column.nullable:
        return lambda n: None
    raise CannotGenerate(
        f"cannot make up values for {column.table.name}.{name} ({column.type}); "
        'give it info={"fake": lambda n: ...} in the model'
    )


def _text(column: Column[Any], length: int | None) -> Make:
    """``<column><n>``; an address at example.com for a column named for email."""
    if "email" in column.name:
        prefix = column.table.name.rstrip("s")
        return lambda n: f"{prefix}{n:07d}@example.com"
    prefix = column.name
    if length is not None and len(prefix) + 7 > length:
        return str
    return lambda n: f"{prefix}{n:07d}"
