"""Load data into the configured database: the data files in seeds/, one file,
or generated rows.

Run it after `alembic upgrade head`. With no arguments it loads every file
in seeds/ (one per table, named after it: users.csv, posts.json,
posts.jsonl), parents before children. Values are checked against the
models: their types, lengths, required columns, the rules the models
declare, and duplicates inside the input. A foreign key may be given by a
unique column of the table it refers to: user.username instead of user_id.

It is safe to run again: rows whose unique key is already in the database
are skipped and counted. The whole run is one transaction, so an error,
Ctrl-C or a killed process leaves the database as it was. Every problem in
the input is reported as FILE:LINE: field: what is wrong, and then nothing
is written (exit status 2).

examples:
  python scripts/seed.py                               every file in seeds/
  python scripts/seed.py --file users.csv              one file, into users
  python scripts/seed.py --file posts.json --table posts
  producer | python scripts/seed.py --file - --table posts --format jsonl
  python scripts/seed.py --fake 1000000                generated users, the same for the same N
  python scripts/seed.py --fake 5000 --table posts     generated posts, by existing users
  python scripts/seed.py --dry-run                     check and count, write nothing
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, OperationalError
from tqdm import tqdm

from dbkit.database import (
    ConfigurationError,
    ConnectionFailed,
    database_url,
    driver_message,
    is_interruption,
    is_refusal,
)
from dbkit.seeding.fake import CannotGenerate
from dbkit.seeding.inputs import FORMATS, InputError, open_file, seed_directory, table_named
from dbkit.seeding.loader import DEFAULT_BATCH_SIZE, InvalidInput, LoadResult, Options, Source
from dbkit.seeding.records import SourceError
from dbkit.seeding.run import PROJECT, SQLITE_WAIT_SECONDS, NotMigratedError, Project, seed

# A batch is held in memory on some paths; past this there is nothing to gain.
MAX_BATCH_SIZE = 1_000_000


class ProgressBar:
    """A progress bar on standard error, advanced after each batch, for loads that take
    more than a moment.

    For a file, the total (and so the ETA) is estimated from how much of the
    file the rows read so far took up.
    """

    def __init__(self) -> None:
        self.bar: tqdm[NoReturn] | None = None
        self.source: Source | None = None
        self.size: int | None = None

    def advance(self, source: Source, rows: int) -> None:
        if source is not self.source:
            self.close()
            self.source = source
            self.size = _size(source)
            self.bar = tqdm(
                total=source.fake,
                desc=source.table.name,
                unit=" rows",
                unit_scale=True,
                delay=0.5,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        assert self.bar is not None
        stream = source.stream
        # (The text wrapper closes the stream once the reader is done with it.)
        if self.size and stream is not None and not stream.closed and (consumed := stream.tell()):
            done = self.bar.n + rows
            self.bar.total = max(done, round(done * self.size / consumed))
        self.bar.update(rows)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _size(source: Source) -> int | None:
    try:
        return Path(source.name).stat().st_size if source.stream is not None else None
    except OSError:
        return None


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
        raise argparse.ArgumentTypeError(f"expected a number of rows, not {text!r}")
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
        help="load this .csv, .json or .jsonl file (- for standard input) instead of seeds/",
    )
    what.add_argument("--fake", metavar="N", type=_count, help="generate N rows")
    parser.add_argument(
        "--table",
        metavar="NAME",
        help="the table --file or --fake fills (default: users)",
    )
    parser.add_argument(
        "--format",
        choices=sorted(set(FORMATS.values())),
        help="the file's format (default: from its extension; CSV for standard input)",
    )
    parser.add_argument(
        "--batch-size",
        type=_batch_size,
        default=DEFAULT_BATCH_SIZE,
        metavar="N",
        help=f"rows written per batch (default: {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="check everything and report, but write nothing"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar (the summary stays)")
    args = parser.parse_args(argv)
    # An option that does not apply is refused, not ignored: seeds/ would be
    # loaded in place of what was meant.
    if args.table is not None and args.file is None and args.fake is None:
        parser.exit(
            2, "seed.py: --table goes with --file or --fake (seeds/ names each file's table)\n"
        )
    if args.format is not None and args.file is None:
        parser.exit(
            2, "seed.py: --format goes with --file (files in seeds/ are read by their extension)\n"
        )
    return args


def open_inputs(args: argparse.Namespace, project: Project = PROJECT) -> list[Source]:
    """The sources the arguments name; a user mistake raises InputError with the message."""
    if args.file is None and args.fake is None:
        return seed_directory(project.seeds, project.metadata)
    table = table_named(project.metadata, args.table or "users")
    if args.fake is not None:
        return [Source(table=table, name="--fake", fake=args.fake)]
    if args.file == "-":
        if sys.stdin is None or sys.stdin.closed:
            raise InputError("standard input is closed: there is nothing to read with --file -")
        return [
            Source(
                table=table, name="<stdin>", stream=sys.stdin.buffer, format=args.format or "csv"
            )
        ]
    return [open_file(Path(args.file), table, args.format)]


NOTHING_WRITTEN = "nothing was written."


def _fail(message: str, status: int) -> int:
    """Print ``seed.py: message`` on standard error; return the exit status."""
    print(f"seed.py: {message}", file=sys.stderr)
    return status


def _summary(result: LoadResult, dry_run: bool) -> str:
    if dry_run:
        return (
            f"{result.inserted} {result.table} would be inserted, "
            f"{result.already_present} already present"
        )
    return f"{result.inserted} {result.table} inserted, {result.already_present} already present"


def _database_error(error: DBAPIError) -> int:
    """One line for what the database did not do; the run's transaction was rolled back."""
    said = driver_message(error, database_url())
    if is_refusal(error):  # a grant missed, a read-only database or standby
        return _fail(f"the database refused: {said}; {NOTHING_WRITTEN}", 1)
    if isinstance(error, (DataError, IntegrityError)):
        # What the database refused although the checks passed: text a latin1
        # MySQL table cannot store, an id given for a row that does not
        # exist, a CHECK constraint.
        return _fail(f"the database refused a value: {said}; {NOTHING_WRITTEN}", 2)
    if isinstance(error, OperationalError) and "database is locked" in str(error.orig):
        return _fail(
            "another process has been writing to the SQLite file for more than "
            f"{SQLITE_WAIT_SECONDS} s; {NOTHING_WRITTEN}",
            1,
        )
    if is_interruption(error):
        return _fail(f"interrupted; {NOTHING_WRITTEN}", 130)
    if isinstance(error, OperationalError):
        return _fail(f"cannot use the database: {said}", 1)
    raise error


def _nothing(project: Project) -> str:
    if project.seeds.is_dir():
        return "Nothing to load: seeds/ has no data files"
    return "Nothing to load: there is no seeds/ directory"


def main(argv: Sequence[str] | None = None, project: Project = PROJECT) -> int:
    """The command line; ``project`` is what it loads into (tests give models of their own)."""
    args = parse_args(argv)
    try:
        sources = open_inputs(args, project)
    except InputError as error:
        return _fail(str(error), 2)
    progress = ProgressBar() if not args.quiet and sys.stderr.isatty() else None
    options = Options(
        batch_size=args.batch_size,
        dry_run=args.dry_run,
        on_batch=progress.advance if progress is not None else None,
    )
    started = time.perf_counter()
    try:
        results = seed(sources, options, project=project)
    except InvalidInput as error:
        for problem in error.problems:
            print(problem, file=sys.stderr)
        if error.count > len(error.problems):
            print(f"... and {error.count - len(error.problems)} more", file=sys.stderr)
        return _fail(f"{error.count} problem(s) in {error.source}; {NOTHING_WRITTEN}", 2)
    except SourceError as error:
        print(f"{error.problem}", file=sys.stderr)
        return _fail(f"cannot read {error.problem.source}; {NOTHING_WRITTEN}", 2)
    except CannotGenerate as error:
        return _fail(f"{error}; {NOTHING_WRITTEN}", 2)
    except NotMigratedError as error:
        return _fail(
            f"the database {error} is not at the latest migration; run: alembic upgrade head", 1
        )
    except ConfigurationError as error:
        return _fail(str(error), 2)
    except ConnectionFailed as error:
        return _fail(str(error), 1)
    except DBAPIError as error:
        return _database_error(error)
    except KeyboardInterrupt:
        return _fail(f"interrupted; {NOTHING_WRITTEN}", 130)
    finally:
        if progress is not None:
            progress.close()
    elapsed = time.perf_counter() - started
    lines = [_summary(result, args.dry_run) for result in results] or [_nothing(project)]
    if args.dry_run:
        lines[0] = f"Dry run: {lines[0]}"
        lines[-1] += "; nothing was written"
    lines[-1] += f" ({elapsed:.1f} s)."
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
