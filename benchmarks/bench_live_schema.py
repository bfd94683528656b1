"""Schema changes under a live writer: the safe forms against the naive ones.

A table of N rows (1,000,000 by default) takes a steady stream of app writes
(single-row UPDATEs, each in its own transaction) from a thread, while a
revision applies through the project's env.py: an index, a foreign key, the
naive form (``op.create_index``, ``op.create_foreign_key``,
``op.create_unique_constraint``, ``alter_column(nullable=False)``) and the form
autogenerate writes (the same through ``dbkit.migrations.online``).
For each, it prints how long the revision took, the slowest app write while it
ran, and the writes that failed.

examples:
  python benchmarks/bench_live_schema.py --server postgresql+psycopg://postgres@127.0.0.1/postgres
  python benchmarks/bench_live_schema.py --server 'mysql+pymysql://root@127.0.0.1/mysql'
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import URL, make_url, text

from dbkit.database import make_engine
from dbkit.safety_net.checks import migrate
from dbkit.testing.histories import History, new_history
from dbkit.testing.scratch import backend_name, scratch_database

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


@dataclass
class Writes:
    # (when the write started, how long it took, whether it failed)
    done: list[tuple[float, float, bool]] = field(default_factory=list)

    def between(self, start: float, end: float) -> list[tuple[float, float, bool]]:
        return [write for write in self.done if start <= write[0] <= end]


def writer(url: URL, rows: int, stop: threading.Event, writes: Writes) -> None:
    """The app: one UPDATE after another, each its own transaction, until stopped."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    update = text("UPDATE items SET value = value + 1 WHERE id = :id")
    try:
        with engine.connect() as connection:
            while not stop.is_set():
                started = time.perf_counter()
                failed = False
                try:
                    connection.execute(update, {"id": random.randint(1, rows)})
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
    engine.dispose()


def measure(
    url: URL, history: History, revision: str, rows: int
) -> tuple[float, list[tuple[float, float, bool]]]:
    """How long the revision took, and the app's writes that started while it ran."""
    writes = Writes()
    stop = threading.Event()
    app = threading.Thread(target=writer, args=(url, rows, stop, writes))
    app.start()
    time.sleep(1.0)  # the app's steady state first
    started = time.perf_counter()
    migrate(url, history.config(), "upgrade", revision)
    ended = time.perf_counter()
    time.sleep(1.0)  # a write the revision held up ends after it
    stop.set()
    app.join()
    migrate(url, history.config(), "downgrade", "-1")
    return ended - started, writes.between(started, ended)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", required=True, help="a PostgreSQL or MariaDB server URL")
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    server = make_url(args.server)
    backend = backend_name(server)
    print(f"{'backend':<11} {'change':<12} {'form':<6} {'rows':>9} {'revision s':>11} "
          f"{'slowest write s':>16} {'failed writes':>14} {'writes':>7}")  # fmt: skip
    with (
        tempfile.TemporaryDirectory() as directory,
        scratch_database(server, Path(directory)) as url,
    ):
        history = new_history(Path(directory) / "history", sa.MetaData())
        base = history.add(TABLES, 'op.drop_table("items")\nop.drop_table("owners")')
        migrate(url, history.config(), "upgrade", base)
        fill(url, args.rows)
        for (change, form), (upgrade, downgrade) in CHANGES.items():
            revision = history.add(upgrade, downgrade, down_revision=base)
            took, writes = measure(url, history, revision, args.rows)
            history.file(revision).unlink()
            slowest = max((latency for _, latency, _ in writes), default=0.0)
            failed = sum(1 for _, _, failed in writes if failed)
            print(f"{backend:<11} {change:<12} {form:<6} {args.rows:>9,} {took:>11.2f} "
                  f"{slowest:>16.3f} {failed:>14} {len(writes):>7}")  # fmt: skip


if __name__ == "__main__":
    main()
