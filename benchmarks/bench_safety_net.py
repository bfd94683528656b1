"""How the migration safety net's time grows with the length of the history.

For each N it writes a correct history of N generated revisions (tables with
a foreign key to the first table, added columns, indexes, type changes: a mix
like a real project's), then times each check of dbkit/safety_net/checks.py on a fresh
database of the backend, and prints a table. Time per revision should stay
flat as N grows: the checks are linear in the history.

examples:
  python benchmarks/bench_safety_net.py                       # SQLite, N = 1, 50, 200
  python benchmarks/bench_safety_net.py --server postgresql+psycopg://postgres@127.0.0.1/postgres
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))

from dbkit.safety_net.checks import (  # noqa: E402
    MigrationCheckNote,
    check_data_survives,
    check_history,
    check_no_drift,
    check_stairway,
    check_upgrade,
    drop_everything,
)
from dbkit.testing.histories import History, new_history  # noqa: E402
from dbkit.testing.scratch import backend_name, scratch_database  # noqa: E402
from models.base import NAMING_CONVENTION  # noqa: E402

CHECKS = ["history", "upgrade", "stairway", "drift", "data"]


def generated_history(directory: Path, revisions: int) -> History:
    """A correct history of ``revisions`` revisions, and the metadata of its head."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    history = new_history(directory, metadata)
    table: sa.Table | None = None
    for i in range(revisions):
        step = i % 4
        if step == 0 or table is None:
            # Every later table refers to the first, as most tables of an app
            # refer to its users.
            parent = metadata.tables.get("t0")
            columns: list[sa.Column[object]] = [
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(40), nullable=False),
            ]
            body = [
                f'op.create_table("t{i}",',
                '    sa.Column("id", sa.Integer(), primary_key=True),',
                '    sa.Column("name", sa.String(length=40), nullable=False),',
            ]
            if parent is not None:
                columns.append(
                    sa.Column(
                        "parent_id",
                        sa.Integer,
                        sa.ForeignKey(f"{parent.name}.id", ondelete="CASCADE"),
                    )
                )
                body.append(
                    '    sa.Column("parent_id", sa.Integer(), '
                    f'sa.ForeignKey("{parent.name}.id", ondelete="CASCADE")),'
                )
            table = sa.Table(f"t{i}", metadata, *columns)
            history.add("\n".join([*body, ")"]), f'op.drop_table("t{i}")')
        elif step == 1:
            table.append_column(sa.Column(f"c{i}", sa.String(20)))
            history.add(
                f'op.add_column("{table.name}", sa.Column("c{i}", sa.String(length=20)))',
                f'with op.batch_alter_table("{table.name}") as batch_op:\n'
                f'    batch_op.drop_column("c{i}")',
            )
        elif step == 2:
            sa.Index(f"ix_{table.name}_name", table.c.name)
            history.add(
                f'op.create_index("ix_{table.name}_name", "{table.name}", ["name"])',
                f'op.drop_index("ix_{table.name}_name", table_name="{table.name}")',
            )
        else:
            column = f"c{i - 2}"
            table.c[column].type = sa.String(60)
            history.add(
                f'with op.batch_alter_table("{table.name}") as batch_op:\n'
                f'    batch_op.alter_column("{column}", existing_type=sa.String(length=20), '
                "type_=sa.String(length=60))",
                f'with op.batch_alter_table("{table.name}") as batch_op:\n'
                f'    batch_op.alter_column("{column}", existing_type=sa.String(length=60), '
                "type_=sa.String(length=20))",
            )
    return history


def timed(check: Callable[[], None]) -> float:
    start = time.perf_counter()
    check()
    return time.perf_counter() - start


def measure(server: str | None, revisions: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as directory:
        history = generated_history(Path(directory) / "history", revisions)
        config = history.config()
        with scratch_database(server, Path(directory)) as url:
            times = {"history": timed(lambda: check_history(config))}
            for name, check in [
                ("upgrade", check_upgrade),
                ("stairway", check_stairway),
                ("drift", check_no_drift),
                ("data", check_data_survives),
            ]:
                drop_everything(url)
                times[name] = timed(lambda check=check: check(url, config))  # type: ignore[misc]
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, action="append", help="revisions (repeatable)")
    parser.add_argument("--server", help="a server URL to make scratch databases on")
    args = parser.parse_args()
    sizes = args.n or [1, 50, 200]
    backend = backend_name(sa.make_url(args.server)) if args.server else "sqlite"
    print(
        f"{'backend':<11}{'revisions':>10}"
        + "".join(f"{name + ' s':>12}" for name in CHECKS)
        + f"{'total s':>10}{'ms/revision':>13}"
    )
    warnings.simplefilter("ignore", MigrationCheckNote)
    # env.py sets Alembic's loggers to INFO on every run; the table is the output.
    logging.disable(logging.INFO)
    for revisions in sizes:
        times = measure(args.server, revisions)
        total = sum(times.values())
        print(
            f"{backend:<11}{revisions:>10}"
            + "".join(f"{times[name]:>12.2f}" for name in CHECKS)
            + f"{total:>10.2f}{1000 * total / revisions:>13.0f}"
        )


if __name__ == "__main__":
    main()
