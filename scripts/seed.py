"""Insert users into the configured database: the sample users, a CSV or JSON
file, or generated users.

Run it after `alembic upgrade head`. It is safe to run again: users already
in the database (same username or email) are skipped and counted. The whole
load is one transaction, so an error, Ctrl-C or a killed process leaves the
database as it was. Every problem in the input is reported as
FILE:LINE: field: what is wrong, and then nothing is written (exit status 2).

examples:
  python scripts/seed.py                        the sample users
  python scripts/seed.py --file users.csv       header: username,email[,full_name]
  python scripts/seed.py --file users.json      [{"username": ..., "email": ...}, ...]
  producer | python scripts/seed.py --file -    CSV from standard input
  python scripts/seed.py --fake 1000000         generated users, the same for the same N
  python scripts/seed.py --file users.csv --dry-run
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NoReturn, TypeVar

from seeding.fake import fake_users
from seeding.loader import DEFAULT_BATCH_SIZE, InvalidInput, LoadResult, load
from seeding.records import Record, SourceError
from seeding.sources import RawRow, read_csv, read_json
from seeding.validation import Validator
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DataError, OperationalError
from tqdm import tqdm

from models.database import (
    ConfigurationError,
    ConnectionFailed,
    database_url,
    display_url,
    driver_message,
    run_with_connection,
)
from models.revisions import is_at_head

SAMPLE_USERS = Path(__file__).resolve().parent / "sample_users.csv"
PROGRESS_EVERY = 8192
# How long a seed waits for another process writing to the same SQLite file
# (another seed, a migration) before it gives up.
SQLITE_WAIT_SECONDS = 600
# A batch is held in memory on most paths; past this there is nothing to gain.
MAX_BATCH_SIZE = 1_000_000
T = TypeVar("T")


class NotMigratedError(Exception):
    """The database schema is missing or behind the code's migrations."""


@dataclass
class Input:
    """Where the users come from: a file (or stdin) to validate, or generated ones."""

    name: str
    stream: BinaryIO | None = None
    format: str = "csv"
    fake: int | None = None
    size: int | None = None  # of a regular file, for the progress bar's estimate

    @classmethod
    def file(cls, path: Path, file_format: str = "csv") -> Input:
        return cls(
            name=str(path), stream=path.open("rb"), format=file_format, size=path.stat().st_size
        )

    def records(self, validator: Validator) -> Iterable[Record]:
        if self.fake is not None:
            return fake_users(self.fake)
        return validator.records(self.raw_rows())

    def raw_rows(self) -> Iterator[RawRow]:
        assert self.stream is not None
        text = io.TextIOWrapper(
            self.stream, encoding="utf-8-sig", errors="surrogateescape", newline=""
        )
        reader = read_json if self.format == "json" else read_csv
        return reader(text, self.name)


@dataclass(frozen=True)
class Options:
    batch_size: int = DEFAULT_BATCH_SIZE
    dry_run: bool = False
    show_progress: bool = False


def seed_connection(connection: Connection, source: Input, options: Options) -> LoadResult:
    """Check that the database is migrated, then load ``source`` in one transaction."""
    at_head = is_at_head(connection)
    connection.rollback()
    if not at_head:
        raise NotMigratedError(display_url(connection))
    validator = Validator(source.name)
    if connection.dialect.name == "sqlite":
        # Take the file's write lock when the transaction begins, waiting for
        # any other writer: a transaction that has read before it writes
        # cannot wait for the lock (SQLite would deadlock) and fails at once.
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {SQLITE_WAIT_SECONDS * 1000}")
        connection.commit()
        connection.execution_options(sqlite_begin="IMMEDIATE")
    with ProgressBar(source, options) as advance:
        records = source.records(validator)
        with connection.begin() as transaction:
            result = load(
                connection,
                _counted(records, advance),
                validator=validator,
                batch_size=options.batch_size,
                dry_run=options.dry_run,
            )
            if options.dry_run:
                transaction.rollback()
    return result


def seed(
    source: Input | None = None, options: Options | None = None, url: str | None = None
) -> LoadResult:
    """Seed ``source`` (the sample users by default) into the configured database, or ``url``."""
    if source is None:
        source = Input.file(SAMPLE_USERS)
    options = options or Options()
    try:
        return run_with_connection(
            lambda connection: seed_connection(connection, source, options), url
        )
    finally:
        if source.stream is not None:
            source.stream.close()


class ProgressBar:
    """A progress bar on standard error for loads that take more than a moment.

    For a file, the total (and so the ETA) is estimated from how much of the
    file the rows read so far took up.
    """

    def __init__(self, source: Input, options: Options) -> None:
        self.source = source
        self.bar: tqdm[NoReturn] | None = None
        if options.show_progress:
            self.bar = tqdm(
                total=source.fake,
                unit=" users",
                unit_scale=True,
                delay=0.5,
                file=sys.stderr,
                dynamic_ncols=True,
            )

    def advance(self, rows: int) -> None:
        assert self.bar is not None
        size, stream = self.source.size, self.source.stream
        # (The text wrapper closes the stream once the reader is done with it.)
        if size and stream is not None and not stream.closed and (consumed := stream.tell()):
            self.bar.total = max(self.bar.n + rows, round((self.bar.n + rows) * size / consumed))
        self.bar.update(rows)

    def __enter__(self) -> Callable[[int], object] | None:
        return self.advance if self.bar is not None else None

    def __exit__(self, *exc_info: object) -> None:
        if self.bar is not None:
            self.bar.close()


def _counted(items: Iterable[T], advance: Callable[[int], object] | None) -> Iterable[T]:
    return items if advance is None else _counting(items, advance)


def _counting(items: Iterable[T], advance: Callable[[int], object]) -> Iterator[T]:
    count = 0
    for item in items:
        count += 1
        if count == PROGRESS_EVERY:
            advance(count)
            count = 0
        yield item
    advance(count)


def _batch_size(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_BATCH_SIZE:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {MAX_BATCH_SIZE:,}, not {text!r}"
        )
    return value


def _count(text: str) -> int:
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of users, not {text!r}")
    return value


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="seed.py",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="The database is DATABASE_URL from the environment or .env "
        "(default: the SQLite file app.db in the project root).",
    )
    what = parser.add_mutually_exclusive_group()
    what.add_argument(
        "--file",
        metavar="PATH",
        help="a .csv or .json file of users, or - for standard input (CSV unless --format json)",
    )
    what.add_argument("--fake", metavar="N", type=_count, help="generate N users")
    parser.add_argument(
        "--format", choices=("csv", "json"), help="the file's format (default: from its extension)"
    )
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"users written per batch (default: {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check everything and report, but write nothing"
    )
    parser.add_argument(
        "--quiet", action="store_true", help="no progress bar (the one-line summary stays)"
    )
    return parser.parse_args(argv)


def open_input(args: argparse.Namespace) -> Input:
    """The input the arguments name; a user mistake raises ValueError with the message."""
    if args.fake is not None:
        return Input(name="--fake", fake=args.fake)
    if args.file is None:
        return Input.file(SAMPLE_USERS)
    if args.file == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise ValueError("standard input is closed: there is nothing to read with --file -")
        return Input(name="<stdin>", stream=sys.stdin.buffer, format=args.format or "csv")
    path = Path(args.file)
    file_format = args.format or path.suffix.lower().lstrip(".")
    if file_format not in {"csv", "json"}:
        raise ValueError(
            f"{path}: cannot tell the format from the extension; use --format csv or --format json"
        )
    try:
        return Input.file(path, file_format)
    except OSError as error:
        raise ValueError(f"{path}: {error.strerror.lower() if error.strerror else error}") from None


def _interrupted(error: BaseException) -> bool:
    """Whether ``error`` is a driver's way of reporting Ctrl-C (psycopg cancels the query)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen = seen.__context__
    return False


def _fail(message: str, status: int) -> int:
    """Print ``seed.py: message`` on standard error; return the exit status."""
    print(f"seed.py: {message}", file=sys.stderr)
    return status


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        source = open_input(args)
    except ValueError as error:
        return _fail(str(error), 2)
    options = Options(
        batch_size=args.batch_size,
        dry_run=args.dry_run,
        show_progress=not args.quiet and sys.stderr.isatty(),
    )
    started = time.perf_counter()
    nothing_written = "nothing was written."
    try:
        result = seed(source, options)
    except InvalidInput as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        if error.count > len(error.problems):
            print(f"... and {error.count - len(error.problems)} more", file=sys.stderr)
        return _fail(f"{error.count} problem(s) in {source.name}; {nothing_written}", 2)
    except SourceError as error:
        print(f"{error.problem}", file=sys.stderr)
        return _fail(f"cannot read {source.name}; {nothing_written}", 2)
    except NotMigratedError as error:
        return _fail(
            f"the database {error} is not at the latest migration; run: alembic upgrade head", 1
        )
    except ConfigurationError as error:
        return _fail(str(error), 2)
    except ConnectionFailed as error:
        return _fail(str(error), 1)
    except DataError as error:
        # What the database refused although the checks passed, such as text
        # a latin1 MySQL table cannot store. The transaction was rolled back.
        refused = driver_message(error, database_url())
        return _fail(f"the database refused a value: {refused}; {nothing_written}", 2)
    except OperationalError as error:
        if "database is locked" in str(error.orig):
            return _fail(
                "another process has been writing to the SQLite file for more than "
                f"{SQLITE_WAIT_SECONDS} s; {nothing_written}",
                1,
            )
        if not _interrupted(error):
            return _fail(f"cannot use the database: {driver_message(error, database_url())}", 1)
        return _fail(f"interrupted; {nothing_written}", 130)
    except KeyboardInterrupt:
        return _fail(f"interrupted; {nothing_written}", 130)
    elapsed = time.perf_counter() - started
    summary = f"{result.inserted} users inserted, {result.already_present} already present"
    if options.dry_run:
        summary = (
            f"Dry run: {result.inserted} users would be inserted, "
            f"{result.already_present} already present; nothing was written"
        )
    print(f"{summary} ({elapsed:.1f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
