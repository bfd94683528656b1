"""Migration runs as deployments start them: several at once, some killed, some
waiting; and what the database looks like afterwards."""

from __future__ import annotations

import signal
import subprocess
import tempfile
import time
from pathlib import Path

from sqlalchemy import URL, inspect, text

from dbkit.database import make_engine
from dbkit.testing import commands
from dbkit.testing.histories import History
from dbkit.testing.scratch import BACKEND

MIGRATORS = 8
# Long enough that all migrators started together overlap inside it.
SLOW_REVISION_SECONDS = 2
# Set in a migrator's environment, how long the slow revision sleeps in it.
SLOW_REVISION_SETTING = "SLOW_REVISION_SECONDS"


ACCOUNTS = (
    """
    op.create_table(
        "accounts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(50), nullable=False),
    )
    """,
    'op.drop_table("accounts")',
)


def database_state(url: URL) -> tuple[list[str], set[str], set[str]]:
    """(alembic_version rows, table names, accounts column names)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            inspector = inspect(connection)
            tables = set(inspector.get_table_names())
            versions = (
                [
                    row[0]
                    for row in connection.execute(text("SELECT version_num FROM alembic_version"))
                ]
                if "alembic_version" in tables
                else []
            )
            columns = (
                {column["name"] for column in inspector.get_columns("accounts")}
                if "accounts" in tables
                else set()
            )
    finally:
        engine.dispose()
    return versions, tables, columns


def add_slow_revision(history: History, seconds: float = SLOW_REVISION_SECONDS) -> str:
    """A revision that sleeps ``seconds`` (or SLOW_REVISION_SETTING) before creating a table."""
    return history.add(
        f"""
        time.sleep(float(os.environ.get({SLOW_REVISION_SETTING!r}, {seconds})))
        op.create_table("concurrency_probe", sa.Column("id", sa.Integer, primary_key=True))
        op.execute("INSERT INTO concurrency_probe (id) VALUES (1)")
        """,
        'op.drop_table("concurrency_probe")',
        revision="510w00000001",
    )


def upgrade_concurrently(
    history: History, url: URL, migrators: int = MIGRATORS, **settings: str
) -> tuple[list[subprocess.CompletedProcess[str]], float]:
    """Start ``migrators`` `alembic upgrade head` processes at once; wait for them all.

    They are forked from one process that has imported Alembic already
    (dbkit/tests/forked_alembic.py): separate processes and connections, as app
    instances have, at a fraction of the CPU.
    """
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory)
        launcher = commands.run(
            "-m", "dbkit.tests.forked_alembic", str(migrators), str(output),
            "-c", str(history.ini), "upgrade", "head",
            database=url, **settings,
        )  # fmt: skip
        assert launcher.returncode == 0, launcher.stderr
        results = [
            subprocess.CompletedProcess(
                ["alembic", "upgrade", "head"],
                int((output / f"{index}.status").read_text()),
                (output / f"{index}.out").read_text(),
                (output / f"{index}.err").read_text(),
            )
            for index in range(migrators)
        ]
    return results, time.monotonic() - start


def probe_rows(url: URL) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if "concurrency_probe" not in inspect(connection).get_table_names():
                return 0
            return int(
                connection.execute(text("SELECT COUNT(*) FROM concurrency_probe")).scalar_one()
            )
    finally:
        engine.dispose()


def upgrades_run(results: list[subprocess.CompletedProcess[str]]) -> int:
    """How many revisions the migrators applied between them, by Alembic's own log."""
    return sum(result.stderr.count("Running upgrade ") for result in results)


def advisory_locks(url: URL) -> int:
    """How many PostgreSQL advisory locks are held in ``url``'s database (ask the server itself)."""
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            return int(
                connection.exec_driver_sql(
                    "SELECT COUNT(*) FROM pg_locks JOIN pg_database ON pg_database.oid = database "
                    "WHERE locktype = 'advisory' AND granted AND datname = current_database()"
                ).scalar_one()
            )
    finally:
        engine.dispose()


def run_lock_is_held(url: URL) -> bool:
    if BACKEND == "postgresql":
        return advisory_locks(url) > 0
    if BACKEND == "sqlite":
        # The holder's BEGIN IMMEDIATE transaction has written its first page.
        return Path(f"{url.database}-journal").exists()
    engine = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            query = "SELECT IS_USED_LOCK(CONCAT('migrations:', DATABASE())) IS NOT NULL"
            return bool(connection.exec_driver_sql(query).scalar())
    finally:
        engine.dispose()


def kill_while_holding_the_run_lock(
    history: History, url: URL, direct_url: URL, before_slow: str | None
) -> None:
    """Start `alembic upgrade head` on ``url``; SIGKILL it inside the slow revision.

    ``before_slow`` is the revision the slow one follows; ``direct_url`` is the
    same database without a pooler in between, to see the lock as the server does.
    """
    migrator = commands.start(
        *commands.alembic_args("upgrade", "head", ini=history.ini),
        database=url,
        **{SLOW_REVISION_SETTING: "60"},
    )
    try:
        # With the lock held and the revision before it recorded, it is in the
        # slow revision. Not "its table exists": MySQL commits DDL at once, before
        # the version row, and a kill in between would leave a table the history
        # does not know about. (SQLite's run is one transaction: the lock is enough.)
        commands.wait_for(
            lambda: (
                run_lock_is_held(direct_url)
                and (
                    BACKEND == "sqlite"
                    or database_state(direct_url)[0] == ([before_slow] if before_slow else [])
                )
            ),
            migrator,
            "taking the run lock and starting the slow revision",
        )
    finally:
        migrator.send_signal(signal.SIGKILL)
        migrator.communicate(timeout=60)


def assert_a_killed_run_blocks_nobody(history: History, url: URL, direct_url: URL) -> None:
    """Kill a run of ``history`` inside its slow revision; the next run goes through at once.

    ``direct_url`` is ``url``'s database without a pooler in between.
    """
    before_slow = history.head
    head = add_slow_revision(history)
    kill_while_holding_the_run_lock(history, url, direct_url, before_slow)
    assert database_state(direct_url)[0] != [head], "the killed revision is not recorded"
    result = commands.alembic_here(
        "upgrade", "head", ini=history.ini, database=url,
        MIGRATION_RUN_LOCK_WAIT="5", **{SLOW_REVISION_SETTING: "0"},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert database_state(direct_url)[0] == [head]
    assert probe_rows(direct_url) == 1
