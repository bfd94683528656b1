"""Migrations are safe to run where the app is live: one migrator at a time,
statements that give up on a busy table instead of blocking it, all or
nothing on failure, and async URLs. Everything goes through `alembic`'s command
line, on small histories the tests build (dbkit/testing/histories.py): in subprocesses
where processes are the point (several at once, one holding the lock), in this
process otherwise."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import URL, inspect, make_url, text
from sqlalchemy.exc import DBAPIError

from dbkit.database import make_engine
from dbkit.safety_net.checks import connected
from dbkit.testing import commands
from dbkit.testing.histories import History
from dbkit.testing.scratch import BACKEND
from dbkit.tests.migrators import (
    ACCOUNTS,
    MIGRATORS,
    SLOW_REVISION_SECONDS,
    SLOW_REVISION_SETTING,
    add_slow_revision,
    assert_a_killed_run_blocks_nobody,
    database_state,
    probe_rows,
    run_lock_is_held,
    upgrade_concurrently,
    upgrades_run,
)


@pytest.fixture
def accounts(history: History) -> History:
    """A history of one revision, which creates the accounts table."""
    history.add(*ACCOUNTS)
    return history


# One migrator at a time -------------------------------------------------------------


def test_concurrent_upgrades_apply_every_revision_once(
    accounts: History, empty_database_url: URL
) -> None:
    """Eight app instances starting at once all succeed; each revision runs exactly once.

    MIGRATION_TABLE_LOCK_TIMEOUT is shorter than the slow revision, which shows that
    waiting for the migrator lock is not bounded by it: the others wait their turn.
    """
    head = add_slow_revision(accounts)
    results, elapsed = upgrade_concurrently(
        accounts, empty_database_url, MIGRATION_TABLE_LOCK_TIMEOUT="1"
    )
    failures = [result.stderr.strip().splitlines()[-1:] for result in results if result.returncode]
    assert not failures, f"{len(failures)} of {MIGRATORS} migrators failed: {failures}"
    assert upgrades_run(results) == 2, "each of the two revisions is applied by one migrator"
    versions, _, _ = database_state(empty_database_url)
    assert versions == [head]
    assert probe_rows(empty_database_url) == 1
    assert elapsed >= SLOW_REVISION_SECONDS


def test_concurrent_upgrades_collide_without_the_lock(
    accounts: History, empty_database_url: URL
) -> None:
    """The same race with MIGRATION_RUN_LOCK=off goes wrong: the lock is what prevents it.

    (Three migrators are plenty to collide.)
    """
    head = add_slow_revision(accounts)
    results, _ = upgrade_concurrently(
        accounts, empty_database_url, migrators=3, MIGRATION_RUN_LOCK="off"
    )
    failed = sum(1 for result in results if result.returncode)
    versions, _, _ = database_state(empty_database_url)
    applied_once = probe_rows(empty_database_url) == 1
    assert failed or versions != [head] or not applied_once, (
        "every unlocked migrator succeeded and applied each revision once: the race did not happen"
    )


def test_a_migrator_gives_up_after_waiting_lock_wait_for_another(
    accounts: History, empty_database_url: URL
) -> None:
    """MIGRATION_RUN_LOCK_WAIT bounds the wait for the migrator lock, with a one-line message."""
    add_slow_revision(accounts, seconds=10)
    first = commands.start(
        *commands.alembic_args("upgrade", "head", ini=accounts.ini), database=empty_database_url
    )
    try:
        commands.wait_for(
            lambda: run_lock_is_held(empty_database_url), first, "taking the migrator lock"
        )
        second = commands.alembic_here(
            "upgrade", "head", ini=accounts.ini, database=empty_database_url,
            MIGRATION_RUN_LOCK_WAIT="0.5",
        )  # fmt: skip
        assert first.poll() is None, "the first migrator finished too early for this test"
    finally:
        # Its work is not what this test is about; no need to wait it out.
        first.kill()
        first.communicate(timeout=120)
    assert second.returncode != 0
    assert "Traceback" not in second.stderr
    assert "MIGRATION_RUN_LOCK_WAIT" in second.stderr.strip().splitlines()[-1]


def test_a_killed_migrator_leaves_nothing_that_blocks_the_next_one(
    accounts: History, empty_database_url: URL
) -> None:
    """SIGKILL half way through a revision: the lock goes with the process, and so does the
    revision."""
    assert_a_killed_run_blocks_nobody(accounts, empty_database_url, empty_database_url)


# Fail fast instead of blocking traffic ----------------------------------------------


@pytest.mark.backends("postgresql", "mysql")
def test_a_migration_blocked_by_a_table_lock_gives_up_after_the_timeout(
    accounts: History, empty_database_url: URL
) -> None:
    initial = accounts.head
    assert initial is not None
    accounts.add(
        'op.add_column("accounts", sa.Column("nickname", sa.String(30), nullable=True))',
        'op.drop_column("accounts", "nickname")',
    )
    ini = accounts.ini
    assert (
        commands.alembic_here("upgrade", initial, ini=ini, database=empty_database_url).returncode
        == 0
    )

    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as blocker:
            # A long-running transaction that has read the table: ALTER TABLE
            # must wait for it (PostgreSQL's table lock, MySQL's metadata lock).
            blocker.execute(text("SELECT COUNT(*) FROM accounts"))
            start = time.monotonic()
            result = commands.alembic_here(
                "upgrade", "head", ini=ini, database=empty_database_url,
                MIGRATION_TABLE_LOCK_TIMEOUT="1", MIGRATION_TABLE_LOCK_RETRIES="0",
            )  # fmt: skip
            elapsed = time.monotonic() - start
            blocker.rollback()
    finally:
        engine.dispose()

    assert result.returncode != 0
    assert "MIGRATION_TABLE_LOCK_TIMEOUT" in result.stderr
    assert "Traceback" not in result.stderr
    assert 1 <= elapsed < 1 + 15, f"gave up after {elapsed:.1f} s"
    versions, _, columns = database_state(empty_database_url)
    assert versions == [initial]
    assert "nickname" not in columns

    # Once the other transaction is gone, the same migration goes through.
    retry = commands.alembic_here("upgrade", "head", ini=ini, database=empty_database_url)
    assert retry.returncode == 0, retry.stderr
    assert "nickname" in database_state(empty_database_url)[2]


# Statements waiting for a lock on accounts, by backend.
WAITING_FOR_ACCOUNTS = {
    "postgresql": text(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'accounts'::regclass"
    ),
    "mysql": text(
        "SELECT count(*) FROM information_schema.processlist "
        "WHERE db = DATABASE() AND state = 'Waiting for table metadata lock'"
    ),
}


@contextmanager
def table_busy_for(url: URL, seconds: float) -> Iterator[None]:
    """A transaction that has read accounts, so ALTER TABLE must wait; it ends
    ``seconds`` after a statement starts waiting for it, or when the block does.

    Counted from the wait, not from the start: a loaded machine may take longer than
    ``seconds`` to reach the ALTER, which would then find the table free.
    """
    engine = make_engine(url)
    ready, done = threading.Event(), threading.Event()

    def hold() -> None:
        with engine.connect() as blocker, engine.connect() as watcher:
            blocker.execute(text("SELECT COUNT(*) FROM accounts"))
            ready.set()
            deadline = time.monotonic() + 30
            while not done.is_set() and time.monotonic() < deadline:
                if watcher.execute(WAITING_FOR_ACCOUNTS[BACKEND]).scalar():
                    break
                watcher.rollback()
                done.wait(0.05)
            done.wait(seconds)
            blocker.rollback()

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert ready.wait(30)
        yield
    finally:
        done.set()
        holder.join()
        engine.dispose()


# A table lock wait short enough for a quick test: MySQL counts in whole seconds.
LOCK_WAIT = 0.2 if BACKEND == "postgresql" else 1.0


def upgrade_with_retries(
    history: History, url: URL, retries: int
) -> subprocess.CompletedProcess[str]:
    """``alembic upgrade head``, giving up on a table lock after LOCK_WAIT and trying
    again ``retries`` times."""
    return commands.alembic_here(
        "upgrade", "head", ini=history.ini, database=url,
        MIGRATION_TABLE_LOCK_TIMEOUT=str(LOCK_WAIT), MIGRATION_TABLE_LOCK_RETRIES=str(retries),
    )  # fmt: skip


def tries_of(result: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of a run that announce another try after a lock wait."""
    return [line for line in result.stderr.splitlines() if "for a table lock; " in line]


def busy_history(accounts: History, url: URL) -> str:
    """accounts at its first revision, and a revision that creates a table, then alters
    accounts: on MySQL the CREATE commits before the ALTER waits."""
    initial = accounts.head
    assert initial is not None
    accounts.add(
        """
        op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))
        op.add_column("accounts", sa.Column("nickname", sa.String(30), nullable=True))
        """,
        'op.drop_column("accounts", "nickname")\nop.drop_table("notes")',
    )
    upgraded = commands.alembic_here("upgrade", initial, ini=accounts.ini, database=url)
    assert upgraded.returncode == 0, upgraded.stderr
    return initial


@pytest.mark.backends("postgresql", "mysql")
def test_a_lock_wait_is_tried_again_until_the_table_is_free(
    accounts: History, empty_database_url: URL
) -> None:
    """Only what did not commit runs again: PostgreSQL's rolled-back revision, MySQL's
    one statement (its CREATE TABLE, committed already, is not repeated)."""
    busy_history(accounts, empty_database_url)
    with table_busy_for(empty_database_url, LOCK_WAIT + 0.3):
        result = upgrade_with_retries(accounts, empty_database_url, 5)
    assert result.returncode == 0, result.stderr
    tries = tries_of(result)
    assert tries, result.stderr
    assert tries[0].endswith("again in 0.5 s (try 2 of 6)")
    versions, tables, columns = database_state(empty_database_url)
    assert versions == [accounts.head]
    assert "notes" in tables
    assert "nickname" in columns


def partly_committing_history(accounts: History, url: URL) -> None:
    """accounts and notes, and a revision whose online steps commit what it did before
    them (CREATE INDEX CONCURRENTLY on PostgreSQL, in place on MySQL), then alters
    accounts."""
    accounts.add(
        """
        op.create_table(
            "notes",
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("body", sa.String(30)),
        )
        op.create_index("ix_notes_old", "notes", ["body"])
        """
    )
    notes = accounts.head
    assert notes is not None
    accounts.add(
        """
        from dbkit.migrations import online
        op.add_column("notes", sa.Column("title", sa.String(30)))  # committed by the next
        online.create_index("ix_notes_body", "notes", ["body"])
        online.create_unique_constraint("uq_notes_id", "notes", ["id", "body"])
        online.drop_index("ix_notes_old", table_name="notes")
        op.add_column("notes", sa.Column("summary", sa.String(30)))
        op.add_column("accounts", sa.Column("nickname", sa.String(30), nullable=True))
        """
    )
    upgraded = commands.alembic_here("upgrade", notes, ini=accounts.ini, database=url)
    assert upgraded.returncode == 0, upgraded.stderr


def notes_indexes(url: URL) -> set[str | None]:
    with connected(url) as connection:
        found = inspect(connection)
        return {index["name"] for index in found.get_indexes("notes")} | {
            key["name"] for key in found.get_unique_constraints("notes")
        }


@pytest.mark.backends("postgresql", "mysql")
def test_after_an_online_step_only_the_statement_that_gave_up_runs_again(
    accounts: History, empty_database_url: URL
) -> None:
    """Running the revision again would repeat what its online steps committed: from
    them on, the statement that gave up on a lock runs again by itself."""
    partly_committing_history(accounts, empty_database_url)
    with table_busy_for(empty_database_url, LOCK_WAIT + 0.3):
        result = upgrade_with_retries(accounts, empty_database_url, 5)
    assert result.returncode == 0, result.stderr
    tries = tries_of(result)
    assert tries[0].endswith("it runs again in 0.5 s (try 2 of 6)")
    assert {"ix_notes_body", "uq_notes_id"} <= notes_indexes(empty_database_url)
    assert "ix_notes_old" not in notes_indexes(empty_database_url)
    versions, _, columns = database_state(empty_database_url)
    assert versions == [accounts.head]
    assert "nickname" in columns


@pytest.mark.backends("postgresql")
def test_after_an_online_step_the_pause_before_a_try_holds_no_table_lock(
    accounts: History, empty_database_url: URL
) -> None:
    """The revision alters notes, then waits for accounts: while it pauses before each
    try it holds no lock, so the app's writes to notes go on, as they would with its
    transaction rolled back."""
    partly_committing_history(accounts, empty_database_url)
    written: list[float] = []
    with table_busy_for(empty_database_url, 3), connected(empty_database_url) as app:
        migrator = commands.start(
            *commands.alembic_args("upgrade", "head", ini=accounts.ini),
            database=empty_database_url,
            MIGRATION_TABLE_LOCK_TIMEOUT=str(LOCK_WAIT), MIGRATION_TABLE_LOCK_RETRIES="5",
        )  # fmt: skip
        while migrator.poll() is None:
            try:
                app.execute(text("SET LOCAL lock_timeout = 100"))
                app.execute(text("INSERT INTO notes (body) VALUES ('app')"))
                app.commit()
                written.append(time.monotonic())
            except DBAPIError:
                app.rollback()
            time.sleep(0.05)
        _, stderr = migrator.communicate()
    assert migrator.returncode == 0, stderr
    assert "it runs again in 1 s" in stderr  # it paused 0.5 s, then 1 s
    longest = max(later - earlier for earlier, later in itertools.pairwise(written))
    assert longest < 1.5, f"the app could not write to notes for {longest:.1f} s"


@pytest.mark.backends("postgresql")
def test_a_revision_that_committed_only_online_steps_is_rolled_back_whole_on_a_lock_wait(
    accounts: History, empty_database_url: URL
) -> None:
    """An online step that comes first (as autogenerate writes index drops) commits
    nothing but itself, and finds its work done when run again: the revision is rolled
    back whole on a lock wait, so a run whose tries all gave up leaves none of its
    ordinary work behind, and the next run applies it."""
    accounts.add(
        """
        op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("body", sa.String(30)))
        op.create_index("ix_notes_old", "notes", ["body"])
        """
    )
    upgraded = commands.alembic_here(
        "upgrade", "head", ini=accounts.ini, database=empty_database_url
    )
    assert upgraded.returncode == 0, upgraded.stderr
    accounts.add(
        """
        from dbkit.migrations import online
        online.drop_index("ix_notes_old", table_name="notes")
        op.add_column("notes", sa.Column("title", sa.String(30)))
        op.add_column("accounts", sa.Column("nickname", sa.String(30), nullable=True))
        """
    )
    with table_busy_for(empty_database_url, 30):
        result = upgrade_with_retries(accounts, empty_database_url, 1)
    assert result.returncode != 0
    assert "its revision was rolled back and runs again" in result.stderr
    with connected(empty_database_url) as connection:
        columns = {column["name"] for column in inspect(connection).get_columns("notes")}
    assert "title" not in columns
    rerun = commands.alembic_here("upgrade", "head", ini=accounts.ini, database=empty_database_url)
    assert rerun.returncode == 0, rerun.stderr


@pytest.mark.backends("postgresql")
def test_a_write_on_the_revision_connection_before_an_online_step_is_not_repeated(
    accounts: History, empty_database_url: URL
) -> None:
    """Work done on op.get_bind() rather than through op is committed by an online step
    all the same: a lock wait after it runs only the statement that gave up again, not
    the revision, which would repeat the write."""
    accounts.add(
        """
        op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True),
                        sa.Column("body", sa.String(30)))
        op.execute("INSERT INTO accounts (name) VALUES ('x')")
        """
    )
    upgraded = commands.alembic_here(
        "upgrade", "head", ini=accounts.ini, database=empty_database_url
    )
    assert upgraded.returncode == 0, upgraded.stderr
    accounts.add(
        """
        from dbkit.migrations import online
        op.get_bind().execute(sa.text("UPDATE accounts SET name = name || '+'"))
        online.create_index("ix_notes_body", "notes", ["body"])
        op.add_column("accounts", sa.Column("nickname", sa.String(30), nullable=True))
        """
    )
    with table_busy_for(empty_database_url, 1.5):
        result = upgrade_with_retries(accounts, empty_database_url, 5)
    assert result.returncode == 0, result.stderr
    with connected(empty_database_url) as connection:
        assert connection.execute(text("SELECT name FROM accounts")).scalar() == "x+"


@pytest.mark.backends("postgresql", "mysql")
def test_after_an_online_step_every_try_giving_up_is_one_line_and_keeps_the_step(
    accounts: History, empty_database_url: URL
) -> None:
    partly_committing_history(accounts, empty_database_url)
    with table_busy_for(empty_database_url, 30):
        result = upgrade_with_retries(accounts, empty_database_url, 1)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(tries_of(result)) == 1
    assert "gave up so as not to block traffic, 2 times" in result.stderr.strip().splitlines()[-1]
    assert "ix_notes_body" in notes_indexes(empty_database_url)
    _, _, columns = database_state(empty_database_url)
    assert "nickname" not in columns


@pytest.mark.backends("postgresql", "mysql")
def test_when_every_try_gives_up_it_is_one_line(accounts: History, empty_database_url: URL) -> None:
    initial = busy_history(accounts, empty_database_url)
    with table_busy_for(empty_database_url, 30):
        start = time.monotonic()
        result = upgrade_with_retries(accounts, empty_database_url, 1)
        elapsed = time.monotonic() - start
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert len(tries_of(result)) == 1
    assert "gave up so as not to block traffic, 2 times" in result.stderr.strip().splitlines()[-1]
    # Two waits and a pause of 0.5 s between them.
    assert 2 * LOCK_WAIT + 0.5 <= elapsed < 2 * LOCK_WAIT + 0.5 + 5, (
        f"gave up after {elapsed:.1f} s"
    )
    versions, _, columns = database_state(empty_database_url)
    assert versions == [initial]
    assert "nickname" not in columns


@pytest.mark.no_database
@pytest.mark.parametrize("value", ["-1", "three", "21", "1.5"])
def test_a_bad_number_of_retries_is_one_line(history: History, value: str) -> None:
    history.add("pass")
    result = commands.alembic_here(
        "upgrade", "head", ini=history.ini, database=make_url("sqlite://"),
        MIGRATION_TABLE_LOCK_RETRIES=value,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "MIGRATION_TABLE_LOCK_RETRIES must be a whole number from 0 to 20" in result.stderr


@pytest.mark.no_database
@pytest.mark.parametrize(
    ("url", "limits"),
    [
        (
            "postgresql+psycopg://nobody@db.invalid/app",
            ["SET LOCAL lock_timeout = 1500;", "SET LOCAL statement_timeout = 60000;"],
        ),
        (
            "mariadb+pymysql://nobody@db.invalid/app",
            [
                "SET SESSION lock_wait_timeout = 2;",
                "SET SESSION innodb_lock_wait_timeout = 2;",
                "SET SESSION max_statement_time = 60;",
            ],
        ),
    ],
    ids=["postgresql", "mariadb"],
)
def test_offline_sql_carries_the_statement_limits(
    accounts: History, url: str, limits: list[str]
) -> None:
    """A DBA who runs `alembic upgrade head --sql` by hand keeps the fail-fast guard."""
    accounts.add('op.add_column("accounts", sa.Column("nickname", sa.String(30)))')
    result = commands.alembic_here(
        "upgrade", "head", "--sql", ini=accounts.ini, database=make_url(url),
        MIGRATION_TABLE_LOCK_TIMEOUT="1.5", MIGRATION_STATEMENT_TIMEOUT="60",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    statements = [line for line in result.stdout.splitlines() if line.strip()]
    if "postgresql" in url:  # after every BEGIN, each revision's own transaction
        begins = [i for i, line in enumerate(statements) if line == "BEGIN;"]
        assert len(begins) == 2
        for begin in begins:
            assert statements[begin + 1 : begin + 3] == limits
    else:  # once, for the session
        assert statements[:3] == limits


@pytest.mark.backends("postgresql")
def test_offline_sql_run_by_hand_gives_up_on_a_busy_table(
    accounts: History, empty_database_url: URL
) -> None:
    import psycopg  # the PostgreSQL driver, an optional extra

    initial = accounts.head
    accounts.add('op.add_column("accounts", sa.Column("nickname", sa.String(30)))')
    ini = accounts.ini
    upgraded = commands.alembic_here("upgrade", f"{initial}", ini=ini, database=empty_database_url)
    assert upgraded.returncode == 0, upgraded.stderr
    sql = commands.alembic_here(
        "upgrade", f"{initial}:head", "--sql", ini=ini, database=empty_database_url,
        MIGRATION_TABLE_LOCK_TIMEOUT="0.5",
    ).stdout  # fmt: skip
    # Without the script's own limit the server's would apply: 20 s, a different error.
    engine = make_engine(empty_database_url, connect_args={"options": "-c statement_timeout=20000"})
    try:
        with engine.connect() as blocker, engine.connect() as dba:
            blocker.execute(text("SELECT COUNT(*) FROM accounts"))
            cursor = dba.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
            dba.connection.dbapi_connection.autocommit = True  # type: ignore[union-attr]
            start = time.monotonic()
            with pytest.raises(psycopg.errors.LockNotAvailable):
                cursor.execute(sql)
            elapsed = time.monotonic() - start
            blocker.rollback()
    finally:
        engine.dispose()
    assert elapsed < 10, f"gave up after {elapsed:.1f} s"
    versions, _, columns = database_state(empty_database_url)
    assert versions == [initial]
    assert "nickname" not in columns


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("MIGRATION_TABLE_LOCK_TIMEOUT", "soon"),
        ("MIGRATION_RUN_LOCK_WAIT", "-1"),
        ("MIGRATION_RUN_LOCK_WAIT", "nan"),
        ("MIGRATION_RUN_LOCK_WAIT", "inf"),
        ("MIGRATION_STATEMENT_TIMEOUT", "1e999"),
        ("MIGRATION_RUN_LOCK", "maybe"),
        ("MIGRATION_LOCK_WAIT", "soon"),  # the old name, still read
        ("DATABASE_CONNECT_TIMEOUT", "ten"),
        # Beyond what a server takes: PostgreSQL's timeouts end at about 24.8
        # days, MySQL's connect and lock waits at a year.
        ("MIGRATION_TABLE_LOCK_TIMEOUT", "2200000"),
        ("MIGRATION_STATEMENT_TIMEOUT", "3000000"),
        ("DATABASE_CONNECT_TIMEOUT", "40000000"),
        ("MIGRATION_RUN_LOCK_WAIT", "1e300"),
    ],
)
def test_a_bad_setting_is_one_clear_line_and_changes_nothing(
    empty_database_url: URL, setting: str, value: str
) -> None:
    result = commands.alembic_here(
        "upgrade", "head", database=empty_database_url, **{setting: value}
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert setting in result.stderr.strip().splitlines()[-1]
    assert database_state(empty_database_url)[1] == set()


def test_the_old_setting_names_still_work_with_a_warning(
    accounts: History, empty_database_url: URL
) -> None:
    result = commands.alembic_here(
        "upgrade", "head", ini=accounts.ini, database=empty_database_url,
        MIGRATION_LOCK="off", MIGRATION_LOCK_WAIT="1", MIGRATION_LOCK_TIMEOUT="1",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for old, new in [
        ("MIGRATION_LOCK", "MIGRATION_RUN_LOCK"),
        ("MIGRATION_LOCK_WAIT", "MIGRATION_RUN_LOCK_WAIT"),
        ("MIGRATION_LOCK_TIMEOUT", "MIGRATION_TABLE_LOCK_TIMEOUT"),
    ]:
        assert f"{old} is deprecated: rename it to {new}" in result.stderr


# All or nothing -----------------------------------------------------------------------

HALF_DONE = """
op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
with op.batch_alter_table("accounts") as batch_op:
    batch_op.add_column(sa.Column("nickname", sa.String(30), nullable=True))
op.execute("SELECT no_such_column FROM accounts")
"""


def test_ctrl_c_during_an_upgrade_is_one_line_and_exit_130(
    accounts: History, empty_database_url: URL
) -> None:
    """The revision that was running is not recorded; what came before it stays."""
    before = accounts.head
    add_slow_revision(accounts)
    process = commands.start(
        *commands.alembic_args("upgrade", "head", ini=accounts.ini),
        database=empty_database_url,
        **{SLOW_REVISION_SETTING: "60"},
    )
    try:
        commands.wait_for(
            lambda: run_lock_is_held(empty_database_url), process, "the slow revision"
        )
        time.sleep(1)  # past the first revision, into the slow one's sleep
        os.kill(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert stderr.strip().splitlines()[-1].startswith("alembic: interrupted; ")
    versions, tables, _ = database_state(empty_database_url)
    assert "concurrency_probe" not in tables
    if BACKEND != "sqlite":  # there the whole run is one transaction
        assert versions == [before]


def fail_half_way(history: History, url: URL) -> tuple[str, subprocess.CompletedProcess[str]]:
    initial = history.head
    assert initial is not None
    history.add(HALF_DONE, 'op.drop_table("half_done")', revision="ha1f00000001")
    assert commands.alembic_here("upgrade", initial, ini=history.ini, database=url).returncode == 0
    return initial, commands.alembic_here("upgrade", "head", ini=history.ini, database=url)


@pytest.mark.backends("sqlite", "postgresql")
def test_a_migration_that_fails_half_way_leaves_no_trace(
    accounts: History, empty_database_url: URL
) -> None:
    initial, result = fail_half_way(accounts, empty_database_url)
    assert result.returncode != 0
    assert "no_such_column" in result.stderr
    versions, tables, columns = database_state(empty_database_url)
    assert versions == [initial]
    assert "half_done" not in tables
    assert "nickname" not in columns


@pytest.mark.backends("mysql")
def test_on_mysql_a_failed_migration_keeps_its_ddl_but_not_the_revision(
    accounts: History, empty_database_url: URL
) -> None:
    """What the README promises for MySQL/MariaDB, which commit each DDL statement at once."""
    initial, result = fail_half_way(accounts, empty_database_url)
    assert result.returncode != 0
    versions, tables, columns = database_state(empty_database_url)
    assert versions == [initial], "the failed revision is not recorded as applied"
    assert "half_done" in tables, "DDL that ran before the failure stays: clean it up by hand"
    assert "nickname" in columns
