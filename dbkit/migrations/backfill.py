"""Fill a column in batches, outside the migration and its run lock.

A revision that adds a column and then runs ``UPDATE big_table SET ...`` holds
its locks (and the run lock) for as long as the whole table takes. The safe
way is the expand step's revision (the column added, nullable), then this,
while the app runs, then a revision that relies on the column being filled::

    python scripts/backfill.py users --set "display_name = full_name" --where "display_name IS NULL"

Rows are taken in keyset batches by primary key, each batch updated and
committed on its own; only rows whose value differs from the expression's
(``IS DISTINCT FROM``) are written, so a run that is killed and started again
writes nothing twice, and a run over a filled table writes nothing at all.
The expression and the condition are SQL, checked by the database before the
first batch: a mistake is one line, and nothing is written.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    Table,
    and_,
    func,
    inspect,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, NoSuchTableError
from sqlalchemy.sql.elements import ColumnElement
from tqdm import tqdm

from dbkit.database import (
    ConfigurationError,
    ConnectionFailed,
    connection_failed,
    database_url,
    driver_message,
    is_interruption,
    is_refusal,
    make_engine,
)

DEFAULT_BATCH_SIZE = 1_000


class BackfillError(Exception):
    """A mistake in what was asked: one line, and nothing written."""


@dataclass(frozen=True)
class Backfill:
    """``SET column = expression`` for the rows of ``table`` that ``where`` picks."""

    table: str
    column: str
    expression: str
    where: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    # Seconds to wait between batches, to leave the database to the app.
    pause: float = 0.0


@dataclass
class Progress:
    rows_seen: int = 0
    rows_updated: int = 0
    batches: int = 0


def parse_assignment(assignment: str) -> tuple[str, str]:
    """``"COLUMN = SQL EXPRESSION"`` as (column, expression)."""
    column, equals, expression = assignment.partition("=")
    if not equals or not column.strip() or not expression.strip():
        raise BackfillError(f"--set: expected COLUMN = SQL EXPRESSION, not {assignment!r}")
    return column.strip(), expression.strip()


def run_backfill(
    engine: Engine,
    job: Backfill,
    on_batch: Callable[[Progress], None] | None = None,
) -> Progress:
    """Run ``job`` on ``engine``'s database; a transaction per batch."""
    if job.batch_size < 1:
        raise BackfillError("--batch-size: expected a whole number of rows, 1 or more")
    table = _reflected(engine, job.table)
    if job.column not in table.columns:
        raise BackfillError(
            f"--set: {job.table} has no column {job.column!r} "
            f"(it has {', '.join(table.columns.keys())})"
        )
    key = list(table.primary_key.columns)
    if not key:
        raise BackfillError(f"{job.table} has no primary key to take its rows in batches by")
    target = table.columns[job.column]
    value: ColumnElement[Any] = literal_column(f"({job.expression})")
    condition = text(f"({job.where})") if job.where else None
    _check_sql(engine, table, value, condition)

    progress = Progress()
    last: tuple[Any, ...] | None = None
    while True:
        with engine.begin() as connection:
            keys = select(*key).order_by(*key).limit(job.batch_size)
            if last is not None:
                keys = keys.where(_after(key, last))
            if condition is not None:
                keys = keys.where(condition)
            batch = [tuple(row) for row in connection.execute(keys)]
            if not batch:
                return progress
            chosen = [_at_most(key, batch[-1])]
            if last is not None:
                chosen.append(_after(key, last))
            statement = (
                update(table)
                .where(*chosen, target.is_distinct_from(value))
                .values({job.column: value})
            )
            if condition is not None:
                statement = statement.where(condition)
            result = connection.execute(statement)
        progress.rows_seen += len(batch)
        progress.rows_updated += max(result.rowcount, 0)
        progress.batches += 1
        last = batch[-1]
        if on_batch is not None:
            on_batch(progress)
        if job.pause:
            time.sleep(job.pause)


def _reflected(engine: Engine, name: str) -> Table:
    try:
        with engine.connect() as connection:
            return Table(name, MetaData(), autoload_with=connection)
    except NoSuchTableError:
        with engine.connect() as connection:
            tables = inspect(connection).get_table_names()
        raise BackfillError(
            f"no table {name!r} in the database (it has {', '.join(sorted(tables)) or 'none'})"
        ) from None


def _check_sql(
    engine: Engine, table: Table, value: ColumnElement[Any], condition: Any | None
) -> None:
    """Have the database compile the expression and condition, on no rows, writing nothing."""
    probe = select(value).select_from(table).limit(0)
    if condition is not None:
        probe = probe.where(condition)
    try:
        with engine.connect() as connection:
            connection.execute(probe).all()
            connection.rollback()
    except DBAPIError as error:
        raise BackfillError(
            f"the database cannot run --set or --where: {driver_message(error)}"
        ) from None


def _after(key: Sequence[Column[Any]], last: tuple[Any, ...]) -> ColumnElement[bool]:
    """Rows whose key comes after ``last`` in key order."""
    if len(key) == 1:
        after: ColumnElement[bool] = key[0] > last[0]
        return after
    # (a, b) > (x, y), spelled out: SQLite and MySQL compare row values too,
    # but not always through an index.
    return or_(
        *(
            and_(*(column == value for column, value in zip(key[:i], last[:i], strict=True)),
                 key[i] > last[i])
            for i in range(len(key))
        )
    )  # fmt: skip


def _at_most(key: Sequence[Column[Any]], last: tuple[Any, ...]) -> ColumnElement[bool]:
    at_most: ColumnElement[bool] = ~_after(key, last)
    return at_most


def count_rows(engine: Engine, job: Backfill) -> int:
    """The rows ``job`` will look at: a progress bar's total."""
    table = _reflected(engine, job.table)
    query = select(func.count()).select_from(table)
    if job.where:
        query = query.where(text(f"({job.where})"))
    with engine.connect() as connection:
        return int(connection.execute(query).scalar_one())


# The command line ------------------------------------------------------------------------


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 1_000_000:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to 1,000,000, not {text!r}"
        )
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 3600, not {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="backfill.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The database is DATABASE_URL from the environment or .env.",
    )
    parser.add_argument("table", help="the table to fill")
    parser.add_argument(
        "--set", dest="assignment", required=True, metavar='"COLUMN = SQL"',
        help="the column and the SQL expression it takes (other columns by name)",
    )  # fmt: skip
    parser.add_argument("--where", metavar="SQL", help="only the rows this condition picks")
    parser.add_argument(
        "--batch-size", type=_positive, default=DEFAULT_BATCH_SIZE, metavar="N",
        help=f"rows per batch, each its own transaction (default: {DEFAULT_BATCH_SIZE})",
    )  # fmt: skip
    parser.add_argument(
        "--pause", type=_seconds, default=0.0, metavar="SECONDS",
        help="wait between batches, to leave the database to the app (default: 0)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        column, expression = parse_assignment(args.assignment)
        job = Backfill(args.table, column, expression, args.where, args.batch_size, args.pause)
        url = database_url()
        engine = make_engine(url)
        try:
            try:
                engine.connect().close()
            except DBAPIError as error:
                raise connection_failed(url, error) from None
            bar = None
            if not args.quiet and sys.stderr.isatty():
                bar = tqdm(total=count_rows(engine, job), desc=job.table, unit=" rows",
                           unit_scale=True, delay=0.5, file=sys.stderr)  # fmt: skip
            seen = [0]

            def advance(progress: Progress) -> None:
                if bar is not None:
                    bar.update(progress.rows_seen - seen[0])
                    seen[0] = progress.rows_seen

            try:
                done = run_backfill(engine, job, advance)
            finally:
                if bar is not None:
                    bar.close()
        finally:
            engine.dispose()
    except BackfillError as error:
        return _fail(f"{error}; nothing was written", 2)
    except ConfigurationError as error:
        return _fail(str(error), 2)
    except ConnectionFailed as error:
        return _fail(str(error), 1)
    except KeyboardInterrupt:
        return _fail(INTERRUPTED, 130)
    except DBAPIError as error:
        if is_interruption(error):
            return _fail(INTERRUPTED, 130)
        said = driver_message(error, database_url())
        if is_refusal(error):
            return _fail(f"the database refused: {said}; {COMMITTED}", 1)
        return _fail(f"the database stopped the backfill: {said}; {COMMITTED}", 1)
    print(
        f"{done.rows_updated} {job.table} rows updated, {done.rows_seen} looked at, "
        f"in {done.batches} batches ({time.perf_counter() - started:.1f} s)."
    )
    return 0


COMMITTED = "the batches before it are committed; run it again to go on"
INTERRUPTED = f"interrupted; {COMMITTED}"


def _fail(message: str, status: int) -> int:
    print(f"backfill.py: {message}", file=sys.stderr)
    return status
