"""Which table each data file fills, and the order tables are loaded in."""

from __future__ import annotations

import graphlib
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import MetaData, Table

from dbkit.seeding.loader import Source

FORMATS = {".csv": "csv", ".json": "json", ".jsonl": "jsonl"}


class InputError(Exception):
    """Inputs that cannot be loaded as given: the message says why, on one line."""


def table_named(metadata: MetaData, name: str) -> Table:
    table = metadata.tables.get(name)
    if table is None:
        raise InputError(f"no table named {name!r}; the tables are {', '.join(metadata.tables)}")
    return table


def file_format(path: Path, given: str | None) -> str:
    if given is not None:
        return given
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InputError(
            f"{path}: cannot tell the format from the extension; "
            "use --format csv, --format json or --format jsonl"
        )
    return found


def open_file(path: Path, table: Table, given_format: str | None = None) -> Source:
    form = file_format(path, given_format)
    try:
        stream = path.open("rb")
    except OSError as error:
        raise InputError(f"{path}: {(error.strerror or str(error)).lower()}") from None
    return Source(table=table, name=str(path), stream=stream, format=form)


def seed_directory(directory: Path, metadata: MetaData) -> list[Source]:
    """A source for each data file in ``directory`` (``<table>.csv``, ``.json`` or
    ``.jsonl``), parents before children; none if there is no such directory (a
    project that keeps no sample data)."""
    if not directory.exists():
        return []
    if not directory.is_dir():
        raise InputError(f"{directory}: not a directory; put a file per table in seeds/")
    files = sorted(path for path in directory.iterdir() if path.suffix.lower() in FORMATS)
    by_table: dict[str, list[Path]] = {}
    for path in files:
        if path.stem not in metadata.tables:
            raise InputError(
                f"{path}: no table named {path.stem!r} (a data file is named after its table; "
                f"the tables are {', '.join(metadata.tables)})"
            )
        by_table.setdefault(path.stem, []).append(path)
    ordered = dependency_order(metadata.tables[name] for name in by_table)
    return [open_file(path, table) for table in ordered for path in by_table[table.name]]


def dependency_order(tables: Iterable[Table]) -> list[Table]:
    """``tables`` with every table after the tables it refers to (among ``tables``).

    A table that refers to itself is fine (its file orders its own rows); tables
    that refer to each other in a cycle cannot be loaded in one pass.
    """
    chosen = {table.name: table for table in tables}
    sorter: graphlib.TopologicalSorter[str] = graphlib.TopologicalSorter()
    for name, table in sorted(chosen.items()):
        parents = {
            key.column.table.name
            for key in table.foreign_keys
            if key.column.table.name in chosen and key.column.table.name != name
        }
        sorter.add(name, *sorted(parents))
    try:
        return [chosen[name] for name in sorter.static_order()]
    except graphlib.CycleError as error:
        cycle = " → ".join(reversed(error.args[1]))
        raise InputError(
            f"the tables refer to each other in a cycle ({cycle}), so no order loads parents "
            "first; load one of them without its reference (leave it empty), then the rest"
        ) from None
