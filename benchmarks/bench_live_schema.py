"""Schema changes under a live writer: the safe forms against the naive ones.

A table of N rows (1,000,000 by default) takes a steady stream of app writes
(single-row UPDATEs, each in its own transaction) from a thread, while
revisions apply as ``alembic upgrade`` applies them at a deploy (the project's
env.py, its run lock, MIGRATION_TABLE_LOCK_TIMEOUT and the retries after a
lock wait). Each row of the table it prints is one step:

- index, foreign-key, unique, not-null: the naive form (``op.create_index``,
  ``op.create_foreign_key``, ``op.create_unique_constraint``,
  ``alter_column(nullable=False)``) against the form autogenerate writes (the
  same through ``dbkit.migrations.online``);
- retry: a column added while a reader's transaction holds the table for
  6 s, with a 2 s MIGRATION_TABLE_LOCK_TIMEOUT, without retries and with the
  default ones;
- backfill: scripts/backfill.py SIGKILLed part way, then run again to the end;
- rename: a column renamed by expand (the new column, kept in step by a
  trigger), scripts/backfill.py, and contract. The app writes the old column
  until contract, the new one from then on (the new code's deploy).

For each step: how long it took, what came of it, the slowest app write that
started while it ran, and the writes that failed.

examples:
  python benchmarks/bench_live_schema.py --server postgresql+psycopg://postgres@127.0.0.1/postgres
  python benchmarks/bench_live_schema.py --server 'mysql+pymysql://root@127.0.0.1/mysql' \\
      --only retry,backfill
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import sqlalchemy as sa
from alembic import command
from alembic.util import CommandError
from sqlalchemy import URL, make_url, text

from dbkit.database import PROJECT_ROOT, make_engine
from dbkit.migrations.lock import MigrationSettings
from dbkit.testing.histories import History, new_history
from dbkit.testing.scratch import backend_name, scratch_database

T = TypeVar("T")

TABLES = """
op.create_table("owners", sa.Column("id", sa.Integer, primary_key=True))
op.create_table(
    "items",
    sa.Column("id", sa.BigInteger, primary_key=True),
    sa.Column("owner_id", sa.Integer, nullable=False),
    sa.Column("value", sa.Integer, nullable=False),
    sa.Column("label", sa.Integer, nullable=True),
)
"""
CHANGES = {
    ("index", "naive"): (
        'op.create_index("ix_items_value", "items", ["value"])',
        'op.drop_index("ix_items_value", table_name="items")',
    ),
    ("index", "safe"): (
        "from dbkit.migrations import online\n"
        'online.create_index("ix_items_value", "items", ["value"])',
        "from dbkit.migrations import online\n"
        'online.drop_index("ix_items_value", table_name="items")',
    ),
    ("foreign key", "naive"): (
        'op.create_foreign_key("fk_items_owner", "items", "owners", ["owner_id"], ["id"])',
        'op.drop_constraint("fk_items_owner", "items", type_="foreignkey")',
    ),
    ("foreign key", "safe"): (
        "from dbkit.migrations import online\n"
        'online.create_foreign_key("fk_items_owner", "items", "owners", ["owner_id"], ["id"])',
        'op.drop_constraint("fk_items_owner", "items", type_="foreignkey")',
    ),
    ("unique", "naive"): (
        'op.create_unique_constraint("uq_items_label", "items", ["label"])',
        'op.drop_constraint("uq_items_label", "items", type_="unique")',
    ),
    ("unique", "safe"): (
        "from dbkit.migrations import online\n"
        'online.create_unique_constraint("uq_items_label", "items", ["label"])',
        'op.drop_constraint("uq_items_label", "items", type_="unique")',
    ),
    ("not null", "naive"): (
        'with op.batch_alter_table("items") as batch_op:\n'
        '    batch_op.alter_column("label", existing_type=sa.Integer(), nullable=False)',
        'with op.batch_alter_table("items") as batch_op:\n'
        '    batch_op.alter_column("label", existing_type=sa.Integer(), nullable=True)',
    ),
    ("not null", "safe"): (
        "from dbkit.migrations import online\n"
        'online.alter_column("items", "label", existing_type=sa.Integer(), nullable=False)',
        'with op.batch_alter_table("items") as batch_op:\n'
        '    batch_op.alter_column("label", existing_type=sa.Integer(), nullable=True)',
    ),
}
# The steps --only picks from, in the order they run. The rename runs last: it
# leaves label renamed to tag.
SCENARIOS = ("index", "foreign-key", "unique", "not-null", "retry", "backfill", "rename")

# The app's write, and the old and new code's during a rename of label to tag.
APP_WRITE = "UPDATE items SET value = value + 1 WHERE id = :id"
OLD_CODE_WRITE = "UPDATE items SET value = value + 1, label = label + 1 WHERE id = :id"
NEW_CODE_WRITE = "UPDATE items SET value = value + 1, tag = tag + 1 WHERE id = :id"

# The retry step: a reader that holds the table this long, and a lock timeout
# that gives up well before it is done.
READER_SECONDS = 6
LOCK_TIMEOUT_SECONDS = "2"
ADD_NOTE = (
    'op.add_column("items", sa.Column("note", sa.Text(), nullable=True))',
    'op.drop_column("items", "note")',
)

# The backfill step: an expression that changes every row and that the app's
# writes (of value) leave alone, so that the rows still to do are exactly the
# rows that differ; the first run is killed once it has passed this share of them.
BACKFILL_COLUMN, BACKFILL_EXPRESSION = "label", "-id"
KILLED_AT = 0.4
BACKFILL_SCRIPT = PROJECT_ROOT / "scripts" / "backfill.py"

RENAME_EXPAND = (
    "from dbkit.migrations import online\n"
    'online.expand_rename_column("items", "label", "tag", sa.Integer(), backfill=False)',
    "from dbkit.migrations import online\n"
    'online.drop_sync("items", "label", "tag")\n'
    'op.drop_column("items", "tag")',
)
RENAME_CONTRACT = (
    'from dbkit.migrations import online\nonline.contract_rename_column("items", "label", "tag")',
    "pass",  # never run: the rename is the last step
)

Write = tuple[float, float, bool]  # when it started, how long it took, whether it failed


@dataclass
class Writes:
    done: list[Write] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[Write]:
        return [write for write in self.done if start <= write[0] <= end]


@dataclass
class Step:
    """One row of the table."""

    change: str
    form: str
    seconds: float
    result: str
    writes: list[Write]


def writer(url: URL, rows: int, stop: threading.Event, writes: Writes, update: str) -> None:
    """The app: one UPDATE after another, each its own transaction, until stopped."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    statement = text(update)
    try:
        with engine.connect() as connection:
            while not stop.is_set():
                started = time.perf_counter()
                failed = False
                try:
                    connection.execute(statement, {"id": random.randint(1, rows)})
                except sa.exc.DBAPIError:
                    failed = True
                writes.done.append((started, time.perf_counter() - started, failed))
                time.sleep(0.005)
    finally:
        engine.dispose()


def fill(url: URL, rows: int) -> None:
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO owners (id) VALUES (1), (2), (3)"))
        if backend_name(url) == "postgresql":
            connection.execute(
                text(
                    "INSERT INTO items (id, owner_id, value, label) "
                    "SELECT n, 1 + n % 3, n, n FROM generate_series(1, :rows) AS n"
                ),
                {"rows": rows},
            )
        else:  # MariaDB's sequence engine
            connection.execute(
                text(
                    "INSERT INTO items (id, owner_id, value, label) "
                    f"SELECT seq, 1 + seq % 3, seq, seq FROM seq_1_to_{rows}"
                )
            )
    if backend_name(url) == "postgresql":
        # A table just filled is due for autovacuum's pass, which would start
        # during whichever step comes along; an ALTER TABLE then waits for it
        # (up to deadlock_timeout, 1 s, before PostgreSQL cancels it) and the
        # app's writes queue behind. A table in use has had its pass.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM (ANALYZE) items"))
    engine.dispose()


def under_writer(
    url: URL,
    rows: int,
    action: Callable[[], T],
    *,
    update: str = APP_WRITE,
    during: Callable[[], AbstractContextManager[object]] = nullcontext,
) -> tuple[float, list[Write], T]:
    """``action()`` under the app's writes: how long it took, what it returned, and the
    writes that started while it ran. ``during()`` is entered before it starts (once the
    app has reached its steady state) and left after it ends."""
    writes = Writes()
    stop = threading.Event()
    app = threading.Thread(target=writer, args=(url, rows, stop, writes, update))
    app.start()
    try:
        time.sleep(1.0)  # the app's steady state first
        with during():
            started = time.perf_counter()
            result = action()
            ended = time.perf_counter()
        time.sleep(1.0)  # a write the action held up ends after it
    finally:
        stop.set()
        app.join()
    return ended - started, writes.between(started, ended), result


@contextmanager
def settings(**values: str | None) -> Iterator[None]:
    """Environment variables set (None: unset) for the block, as they were after it."""
    before = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_alembic(
    url: URL, history: History, direction: str, revision: str, **more: str | None
) -> None:
    """``alembic upgrade|downgrade REVISION`` in this process, as a deploy runs it."""
    address = url.render_as_string(hide_password=False)
    with settings(DATABASE_URL=address, MIGRATION_DATABASE_URL=address, **more):
        getattr(command, direction)(history.config(), revision)


@contextmanager
def counting_retries() -> Iterator[list[logging.LogRecord]]:
    """The lock module's log lines that announce a retry after a lock wait, not printed."""
    logger = logging.getLogger("dbkit.migrations.lock")
    retries: list[logging.LogRecord] = []

    class Count(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "for a table lock" in record.getMessage():
                retries.append(record)

    handler, propagate = Count(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield retries
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


@contextmanager
def table_read_for(url: URL, seconds: float) -> Iterator[None]:
    """A report's transaction that has read items and goes on for ``seconds``: ALTER TABLE
    must wait for it (PostgreSQL's table lock, MariaDB's metadata lock). The block starts
    once it has read; leaving it waits for the transaction's end."""
    sleep = "pg_sleep" if backend_name(url) == "postgresql" else "SLEEP"
    engine = make_engine(url)
    has_read = threading.Event()

    def report() -> None:
        with engine.connect() as connection:
            connection.execute(text("SELECT count(*) FROM items")).scalar()
            has_read.set()
            connection.execute(text(f"SELECT {sleep}({seconds:g})"))
            connection.commit()

    reader = threading.Thread(target=report)
    reader.start()
    try:
        if not has_read.wait(60):
            raise RuntimeError("the reader did not read items within 60 s")
        yield
    finally:
        reader.join()
        engine.dispose()


def changes(url: URL, history: History, base: str, rows: int, only: set[str]) -> Iterator[Step]:
    """The naive and safe forms of each change, applied and undone."""
    for (change, form), (upgrade, downgrade) in CHANGES.items():
        if change.replace(" ", "-") not in only:
            continue
        revision = history.add(upgrade, downgrade, down_revision=base)
        upgrade_to = partial(run_alembic, url, history, "upgrade", revision)
        took, writes, _ = under_writer(url, rows, upgrade_to)
        run_alembic(url, history, "downgrade", base)
        history.file(revision).unlink()
        yield Step(change, form, took, "applied", writes)


def retry(url: URL, history: History, base: str, rows: int) -> Iterator[Step]:
    """A column added behind a reader's 6 s transaction: without retries, then with them."""
    revision = history.add(*ADD_NOTE, down_revision=base)
    default = MigrationSettings().table_lock_retries
    for form, retries in (("no retries", "0"), (f"{default} retries", None)):

        def add_note(retries: str | None = retries) -> tuple[bool, int]:
            with counting_retries() as logged:
                try:
                    run_alembic(
                        url, history, "upgrade", revision,
                        MIGRATION_TABLE_LOCK_TIMEOUT=LOCK_TIMEOUT_SECONDS,
                        MIGRATION_TABLE_LOCK_RETRIES=retries,
                    )  # fmt: skip
                except CommandError:  # every try gave up: one line, as the deploy prints it
                    return False, len(logged) + 1
            return True, len(logged) + 1

        took, writes, (applied, tries) = under_writer(
            url, rows, add_note, during=lambda: table_read_for(url, READER_SECONDS)
        )
        if applied:
            run_alembic(url, history, "downgrade", base)
        outcome = "applied" if applied else "failed"
        yield Step("add column", form, took, f"{outcome}, {plural(tries, 'try', 'tries')}", writes)
    history.file(revision).unlink()


def plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def differing(url: URL, column: str, expression: str) -> int:
    """The rows whose ``column`` is not (yet) ``expression``."""
    if backend_name(url) == "postgresql":
        condition = f"{column} IS DISTINCT FROM ({expression})"
    else:
        condition = f"NOT ({column} <=> ({expression}))"
    count = text(f"SELECT count(*) FROM items WHERE {condition}")
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return int(connection.execute(count).scalar_one())
    finally:
        engine.dispose()


def start_backfill(url: URL, column: str, expression: str) -> subprocess.Popen[str]:
    """``python scripts/backfill.py items --set "COLUMN = EXPRESSION"`` on ``url``'s database."""
    return subprocess.Popen(
        [sys.executable, str(BACKFILL_SCRIPT), "items", "--set", f"{column} = {expression}",
         "--batch-size", "1000", "--quiet"],
        cwd=PROJECT_ROOT,
        env={**os.environ, "DATABASE_URL": url.render_as_string(hide_password=False)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip


def backfill_to_the_end(url: URL, column: str, expression: str) -> subprocess.Popen[str]:
    """The backfill, run until it ends by itself; its output is left to :func:`finished`."""
    process = start_backfill(url, column, expression)
    process.wait()  # it prints one line: the pipes cannot fill up
    return process


def finished(process: subprocess.Popen[str], left: int) -> str:
    """What a backfill run that ended by itself says it did, and the rows still to do."""
    out, err = process.communicate()
    if process.returncode:
        said = err.strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        return f"failed: {said[0]}"
    updated = re.match(r"(\d+) ", out)  # "N items rows updated, ..."
    return f"done; {f'{int(updated.group(1)):,}' if updated else '?'} set, {left:,} left"


def killed_part_way(url: URL, rows: int) -> str:
    """Start the backfill and SIGKILL it once it has passed KILLED_AT of the rows."""
    process = start_backfill(url, BACKFILL_COLUMN, BACKFILL_EXPRESSION)
    # Batches go in key order: once this row is set, the run has passed it.
    probe = max(1, int(rows * KILLED_AT))
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    passed = text(f"SELECT {BACKFILL_COLUMN} = {BACKFILL_EXPRESSION} FROM items WHERE id = {probe}")
    try:
        with engine.connect() as connection:
            while process.poll() is None and not connection.execute(passed).scalar():
                time.sleep(0.05)
    finally:
        engine.dispose()
    if process.poll() is not None:
        return finished(process, differing(url, BACKFILL_COLUMN, BACKFILL_EXPRESSION))
    process.kill()
    process.communicate()
    return "killed"


def backfill(url: URL, rows: int) -> Iterator[Step]:
    """A backfill SIGKILLed part way, then run again to the end; the rows still to do
    are counted before and after each run."""
    before = differing(url, BACKFILL_COLUMN, BACKFILL_EXPRESSION)
    took, writes, outcome = under_writer(url, rows, lambda: killed_part_way(url, rows))
    left = differing(url, BACKFILL_COLUMN, BACKFILL_EXPRESSION)
    if outcome == "killed":
        outcome = f"killed; {before - left:,} set, {left:,} left"
    yield Step("backfill", "run 1, killed", took, outcome, writes)

    resume = partial(backfill_to_the_end, url, BACKFILL_COLUMN, BACKFILL_EXPRESSION)
    took, writes, process = under_writer(url, rows, resume)
    outcome = finished(process, differing(url, BACKFILL_COLUMN, BACKFILL_EXPRESSION))
    yield Step("backfill", "run 2", took, outcome, writes)


def rename(url: URL, history: History, base: str, rows: int) -> Iterator[Step]:
    """label renamed to tag: expand, the backfill, contract, each under the app's writes."""
    expand = history.add(*RENAME_EXPAND, down_revision=base)
    took, writes, _ = under_writer(
        url, rows, lambda: run_alembic(url, history, "upgrade", expand), update=OLD_CODE_WRITE
    )
    yield Step("rename", "expand", took, "applied", writes)

    fill_tag = partial(backfill_to_the_end, url, "tag", "label")
    took, writes, process = under_writer(url, rows, fill_tag, update=OLD_CODE_WRITE)
    outcome = finished(process, differing(url, "tag", "label"))
    yield Step("rename", "backfill", took, outcome, writes)

    contract = history.add(*RENAME_CONTRACT, down_revision=expand)
    took, writes, _ = under_writer(
        url, rows, lambda: run_alembic(url, history, "upgrade", contract), update=NEW_CODE_WRITE
    )
    yield Step("rename", "contract", took, "applied", writes)


def server_name(url: URL) -> str:
    """postgresql, mariadb or mysql: what the server says it is (a mysql:// URL may reach
    MariaDB)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            dialect = connection.dialect
            return "mariadb" if getattr(dialect, "is_mariadb", False) else dialect.name
    finally:
        engine.dispose()


def chosen(value: str) -> set[str]:
    names = {name.strip() for name in value.split(",") if name.strip()}
    unknown = names - set(SCENARIOS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected some of {', '.join(SCENARIOS)}, not {', '.join(sorted(unknown)) or value!r}"
        )
    return names


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", required=True, help="a PostgreSQL or MariaDB server URL")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--only", type=chosen, default=set(SCENARIOS), metavar="STEPS",
        help=f"a comma-separated choice of {', '.join(SCENARIOS)} (default: all)",
    )  # fmt: skip
    args = parser.parse_args()
    logging.disable(logging.INFO)
    server = make_url(args.server)
    backend = server_name(server)
    print(f"{'backend':<10} {'change':<11} {'form / step':<13} {'rows':>9} {'seconds':>8} "
          f"{'result':<36} {'slowest write s':>15} {'failed writes':>13} {'writes':>6}",
          flush=True)  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as directory,
        scratch_database(server, Path(directory)) as url,
    ):
        history = new_history(Path(directory) / "history", sa.MetaData())
        base = history.add(TABLES, 'op.drop_table("items")\nop.drop_table("owners")')
        run_alembic(url, history, "upgrade", base)
        fill(url, args.rows)
        steps = [changes(url, history, base, args.rows, args.only)]
        if "retry" in args.only:
            steps.append(retry(url, history, base, args.rows))
        if "backfill" in args.only:
            steps.append(backfill(url, args.rows))
        if "rename" in args.only:
            steps.append(rename(url, history, base, args.rows))
        for scenario in steps:
            for step in scenario:
                slowest = max((latency for _, latency, _ in step.writes), default=0.0)
                failed = sum(1 for _, _, failed in step.writes if failed)
                print(f"{backend:<10} {step.change:<11} {step.form:<13} {args.rows:>9,} "
                      f"{step.seconds:>8.2f} {step.result:<36} {slowest:>15.3f} {failed:>13} "
                      f"{len(step.writes):>6}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
