"""One load: an input read, checked, batched and written, in the caller's transaction.

read (seeding/sources.py) → check (seeding/columns.py, seeding/validation.py)
→ batch → natural keys to ids (seeding/references.py) → duplicates inside the
input (seeding/duplicates.py) → write (seeding/writers.py). Generated rows
(seeding/fake.py) join at the batching step: they are valid by construction.
"""

from __future__ import annotations

import gc
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any, BinaryIO

from sqlalchemy import Column, Table
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapper

from dbkit.seeding.columns import Field, UniqueKey, fields_for, keys_filled, python_default
from dbkit.seeding.duplicates import Duplicates
from dbkit.seeding.fake import fake_columns, fake_rows
from dbkit.seeding.records import Problem, SourceError
from dbkit.seeding.references import References, Unwritten, referred_to
from dbkit.seeding.sources import READERS
from dbkit.seeding.validation import Checker
from dbkit.seeding.writers import batches, writer_for

DEFAULT_BATCH_SIZE = 20_000
Pair = tuple[int, list[Any]]  # (line, row)


@dataclass
class Source:
    """What one load reads: a data file (or standard input), or ``fake`` generated rows."""

    table: Table
    name: str  # as problems name it: the file's path, <stdin> or --fake
    stream: BinaryIO | None = None
    format: str = "csv"
    fake: int | None = None


@dataclass(frozen=True)
class LoadResult:
    table: str
    read: int
    inserted: int

    @property
    def already_present(self) -> int:
        return self.read - self.inserted


class InvalidInput(Exception):
    """The input has problems; nothing may be written."""

    def __init__(self, source: str, problems: list[Problem], count: int) -> None:
        super().__init__(f"{count} problem(s) in {source}")
        self.source = source
        self.problems = problems
        self.count = count


@dataclass(frozen=True)
class Options:
    batch_size: int = DEFAULT_BATCH_SIZE
    dry_run: bool = False
    # Called after each batch with the number of rows it read (a progress bar).
    on_batch: Callable[[Source, int], object] | None = None


def load(
    connection: Connection,
    source: Source,
    options: Options = Options(),
    mappers: Sequence[Mapper[Any]] = (),
    unwritten: Unwritten | None = None,
) -> LoadResult:
    """Write ``source`` into its table (rows already present are skipped) in
    ``connection``'s transaction; the caller commits or rolls back.

    Every problem in the input is collected; if there are any once it is
    exhausted, :class:`InvalidInput` is raised, and the caller must roll back
    (rows may have been written before the problems were found). ``inserted``
    counts the rows this load inserted, whatever other sessions insert
    meanwhile. ``mappers`` are searched for the ``@validates`` rules of the
    table's model. ``unwritten`` holds the rows earlier dry-run loads of the
    same run read without writing, for natural keys to find.
    """
    with _collector_paused():
        if source.fake is not None:
            return _load_generated(connection, source, options)
        return _load_file(connection, source, options, mappers, unwritten)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a load, and run on the young objects after
    each batch instead (:func:`_batch_done`).

    Left on, it runs every 700 new containers, and each run walks every row
    of the batch being built: a sixth of the time of a load of a million
    rows. Rows hold no cycles, reference counting frees them, and whatever
    cycles a batch does leave are collected at its end.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _batch_done() -> None:
    gc.collect(1)


def _load_generated(connection: Connection, source: Source, options: Options) -> LoadResult:
    """Generated rows are valid and unique by construction: straight to the writer."""
    assert source.fake is not None
    table = source.table
    rows = fake_rows(connection, table, source.fake)
    read = inserted = 0
    with ExitStack() as resources:
        write = writer_for(
            connection, table, fake_columns(table), resources, dry_run=options.dry_run
        )
        for batch in batches(rows, options.batch_size):
            batch_read, batch_inserted = write(batch)
            read += batch_read
            inserted += batch_inserted
            if options.on_batch is not None:
                options.on_batch(source, batch_read)
            _batch_done()
    return LoadResult(table.name, read, inserted)


def _load_file(
    connection: Connection,
    source: Source,
    options: Options,
    mappers: Sequence[Mapper[Any]],
    unwritten: Unwritten | None,
) -> LoadResult:
    """Load a file, finding its duplicate keys only when it may have any.

    Comparing the keys of the input costs a copy of each in a temporary
    table (seeding/duplicates.py). But a pass that inserts every row it reads
    has no two rows with one key: the table's unique keys would have skipped
    the second. So the keys are copied only when that cannot be relied on:
    a pass that skipped rows (present already, or duplicates) or found other
    problems is followed by a second pass over the file that writes nothing
    and reports every problem, duplicates included. Standard input cannot be
    read twice and a dry run writes nothing to judge by: those copy the keys
    from the start.
    """
    assert source.stream is not None
    twice = not options.dry_run and source.stream.seekable()
    result, checker = _read_file(
        connection, source, options, mappers, keep_keys=not twice, write=True, unwritten=unwritten
    )
    if twice and (checker.problem_count or result.inserted != result.read):
        source.stream.seek(0)
        quiet = Options(batch_size=options.batch_size)
        _, checker = _read_file(connection, source, quiet, mappers, keep_keys=True, write=False)
    if checker.problem_count:
        raise InvalidInput(source.name, checker.problems_sorted, checker.problem_count)
    return result


def _read_file(
    connection: Connection,
    source: Source,
    options: Options,
    mappers: Sequence[Mapper[Any]],
    *,
    keep_keys: bool,
    write: bool,
    unwritten: Unwritten | None = None,
) -> tuple[LoadResult, Checker]:
    """One pass over ``source``: its rows checked, and written if ``write``."""
    assert source.stream is not None
    table = source.table
    checker = Checker(source.name)
    text = io.TextIOWrapper(
        source.stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
    )
    try:
        headings, header_line, raw = READERS[source.format](text, source.name)
        if headings is None:
            return LoadResult(table.name, 0, 0), checker
        fields = fields_for(
            table,
            headings,
            mappers=mappers,
            from_text=source.format == "csv",
            dialect=connection.dialect.name,
        )
        if isinstance(fields, str):
            where = "header" if source.format == "csv" else "row"
            raise SourceError(Problem(source.name, header_line, where, fields))
        columns = [field.column for field in fields]
        defaults = _python_defaults(table, columns)
        columns += [column for column, _ in defaults]
        rows = _with_defaults(checker.rows(raw, fields), [make for _, make in defaults])

        read = inserted = 0
        with ExitStack() as resources:
            if unwritten is None:
                unwritten = Unwritten(connection, resources)
            references = References(connection, fields, resources, unwritten)
            # Rows not written are noted where a later row may refer to them:
            # in a dry run (later files too) of a table that some foreign key
            # points at, and in a table that refers to itself.
            noting = (options.dry_run and referred_to(table)) or references.refers_to_itself
            # The writer's rows are noted too when it writes none of them.
            noting_written = noting and options.dry_run
            keys = _keys(connection, table, columns, fields) if keep_keys else []
            duplicates = Duplicates(connection, keys, resources)
            writer = writer_for(connection, table, columns, resources, dry_run=options.dry_run)
            for batch in batches(rows, options.batch_size):
                groups: Iterable[Iterator[Pair] | list[Pair]] = (
                    references.groups(list(batch), checker.report) if references else [batch]
                )
                for group in groups:
                    if checker.problem_count or not write:
                        # Nothing (more) will be written: only find the problems.
                        group = list(group)
                        duplicates.add(group)
                        if noting:
                            unwritten.note(table, columns, [row for _, row in group])
                        continue
                    pairs: list[Pair] = []
                    keep = bool(duplicates) or noting_written
                    group_read, group_inserted = writer(_noted(group, pairs if keep else None))
                    # Not while the writer reads the group: it may be in the
                    # middle of a COPY on this connection.
                    duplicates.add(pairs)
                    if noting_written:
                        unwritten.note(table, columns, [row for _, row in pairs])
                    read += group_read
                    inserted += group_inserted
                    if options.on_batch is not None:
                        options.on_batch(source, group_read)
                _batch_done()
            duplicates.report(checker.report)
    finally:
        # The file stays open for a second pass (the wrapper would close it).
        if not text.closed:
            text.detach()
    return LoadResult(table.name, read, inserted), checker


def _noted(batch: Iterable[Pair], pairs: list[Pair] | None) -> Iterator[list[Any]]:
    """The rows of ``batch``; each ``(line, row)`` is also appended to ``pairs`` if given."""
    if pairs is None:
        for _, row in batch:
            yield row
        return
    keep = pairs.append
    for pair in batch:
        keep(pair)
        yield pair[1]


def _python_defaults(
    table: Table, given: Sequence[Column[Any]]
) -> list[tuple[Column[Any], Callable[[], Any]]]:
    """The columns a file leaves out that have a default in Python, not in the database."""
    names = {column.name for column in given}
    return [
        (column, make)
        for column in table.columns
        if column.name not in names and (make := python_default(column)) is not None
    ]


def _with_defaults(
    rows: Iterator[tuple[int, list[Any]]], makers: Sequence[Callable[[], Any]]
) -> Iterator[tuple[int, list[Any]]]:
    if not makers:
        return rows
    return ((line, row + [make() for make in makers]) for line, row in rows)


def _keys(
    connection: Connection, table: Table, columns: Sequence[Column[Any]], fields: Sequence[Field]
) -> list[tuple[str, UniqueKey, list[int]]]:
    """The unique keys a row of ``columns`` fills: (heading to report, key, positions)."""
    headings = {field.column.name: field.heading for field in fields}
    return [
        (
            ", ".join(headings.get(column.name, column.name) for column in key.named_by),
            key,
            positions,
        )
        for key, positions in keys_filled(table, columns, connection.dialect.name)
    ]
