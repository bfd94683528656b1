"""Behind a connection pooler: PgBouncer in transaction mode in front of PostgreSQL.

A transaction pooler gives each transaction whichever server connection is
free, so anything a client leaves on a session (an advisory lock, a prepared
statement, a SET) stays on a server connection that the next transaction may
not get, and that another client will. These tests run the project's
commands and engine through a real PgBouncer (TEST_PGBOUNCER_URL) and look at
the server directly to see what was left behind.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Engine, pool, text
from sqlalchemy.exc import DBAPIError

from dbkit.database import make_engine
from dbkit.migrations.lock import POSTGRES_LOCK_KEY
from dbkit.testing import commands
from dbkit.testing.histories import History
from dbkit.testing.scratch import POOLER_URL, through_pooler
from dbkit.tests.migrators import (
    ACCOUNTS,
    add_slow_revision,
    advisory_locks,
    assert_a_killed_run_blocks_nobody,
    database_state,
    probe_rows,
    upgrade_concurrently,
    upgrades_run,
)

pytestmark = pytest.mark.backends("postgresql")


@pytest.fixture
def pooled(empty_database_url: URL) -> URL:
    """The test's empty database, reached through the pooler."""
    if POOLER_URL is None:
        pytest.skip("set TEST_PGBOUNCER_URL to a PgBouncer in transaction mode (see README)")
    return through_pooler(empty_database_url)


@pytest.fixture
def accounts(history: History) -> History:
    history.add(*ACCOUNTS)
    return history


# The run lock -------------------------------------------------------------------------


def test_a_session_lock_taken_through_the_pooler_outlives_its_client(
    accounts: History, pooled: URL, empty_database_url: URL
) -> None:
    """Why the run lock is held by a transaction: the old design, a session lock, strands.

    The client takes pg_advisory_lock and leaves; the server connection it
    ran on goes back to the pool still holding the lock, and a migration run
    on any other server connection (here, a direct one) waits for a lock
    nobody will release.
    """
    engine = make_engine(pooled, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": POSTGRES_LOCK_KEY})
    engine.dispose()

    assert advisory_locks(empty_database_url) == 1, "the client is gone, its lock is not"
    blocked = commands.alembic_here(
        "upgrade", "head", ini=accounts.ini, database=empty_database_url,
        MIGRATION_RUN_LOCK_WAIT="1",
    )  # fmt: skip
    assert blocked.returncode != 0
    assert "MIGRATION_RUN_LOCK_WAIT" in blocked.stderr.strip().splitlines()[-1]


def test_concurrent_upgrades_through_the_pooler_apply_each_revision_once_and_leave_no_lock(
    accounts: History, pooled: URL, empty_database_url: URL
) -> None:
    head = add_slow_revision(accounts)
    results, _ = upgrade_concurrently(accounts, pooled)
    failures = [result.stderr.strip().splitlines()[-1:] for result in results if result.returncode]
    assert not failures, failures
    assert upgrades_run(results) == 2, "each of the two revisions is applied by one migrator"
    assert database_state(empty_database_url)[0] == [head]
    assert probe_rows(empty_database_url) == 1
    assert advisory_locks(empty_database_url) == 0


def test_a_migrator_killed_behind_the_pooler_blocks_nobody(
    accounts: History, pooled: URL, empty_database_url: URL
) -> None:
    assert_a_killed_run_blocks_nobody(accounts, pooled, empty_database_url)
    assert advisory_locks(empty_database_url) == 0


CONCURRENT_INDEX = (
    """
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_accounts_name", "accounts", ["name"], postgresql_concurrently=True
        )
    """,
    """
    with op.get_context().autocommit_block():
        op.drop_index("ix_accounts_name", "accounts", postgresql_concurrently=True)
    """,
)


@pytest.mark.parametrize("through", ["direct", "pooler"])
def test_a_revision_outside_a_transaction_runs_under_the_run_lock(
    accounts: History, empty_database_url: URL, through: str, request: pytest.FixtureRequest
) -> None:
    """CREATE INDEX CONCURRENTLY waits for older transactions: the lock's own must not count."""
    url = request.getfixturevalue("pooled") if through == "pooler" else empty_database_url
    accounts.add(*CONCURRENT_INDEX)
    # If the index waited for the lock's transaction it would wait for ever
    # (statement limits do not apply outside a transaction): the database's
    # own default cuts it short instead, and the test fails.
    admin = make_engine(empty_database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(
            f'ALTER DATABASE "{empty_database_url.database}" SET statement_timeout = 20000'
        )
    admin.dispose()
    for args in (("upgrade", "head"), ("downgrade", "-1"), ("upgrade", "head")):
        result = commands.alembic_here(*args, ini=accounts.ini, database=url)
        assert result.returncode == 0, result.stderr
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            valid = connection.execute(
                text(
                    "SELECT indisvalid FROM pg_index "
                    "WHERE indexrelid = 'ix_accounts_name'::regclass"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert valid


# The app and the seed ---------------------------------------------------------------------


@pytest.fixture
def blocker(pooled: URL) -> Iterator[Engine]:
    engine = make_engine(pooled, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


def run_a_query_across_server_connections(engine: Engine, blocker: Engine) -> None:
    """The same query in several transactions of one client, moved to another server connection.

    While the client is between transactions another client takes the
    server connection it used, so the pooler gives it a new one.
    """
    query = text("SELECT CAST(:value AS integer) + 1")
    with engine.connect() as app:
        for value in range(6):
            assert app.execute(query, {"value": value}).scalar_one() == value + 1
            app.commit()
        with blocker.connect() as other:
            other.execute(text("SELECT 1"))  # holds its server connection until rollback
            for value in range(6):
                assert app.execute(query, {"value": value}).scalar_one() == value + 1
                app.commit()
            other.rollback()


def test_the_engine_repeats_queries_through_the_pooler(pooled: URL, blocker: Engine) -> None:
    engine = make_engine(pooled)
    try:
        run_a_query_across_server_connections(engine, blocker)
    finally:
        engine.dispose()


def test_prepared_statements_break_through_the_pooler(pooled: URL, blocker: Engine) -> None:
    """What make_engine() avoids: psycopg's prepared statements, left on another server
    connection."""
    engine = make_engine(pooled, connect_args={"prepare_threshold": 0})
    try:
        with pytest.raises(DBAPIError, match=r"prepared statement .* does not exist"):
            run_a_query_across_server_connections(engine, blocker)
    finally:
        engine.dispose()


def test_migrate_directly_then_seed_through_the_pooler(
    empty_database_url: URL, pooled: URL, tmp_path: Path
) -> None:
    """The usual deployment: MIGRATION_DATABASE_URL direct, DATABASE_URL through the pooler.

    The seed's three paths all run through it: COPY, the fallback that copies
    a batch with existing users into a staging table, and the generated users.
    """
    direct = empty_database_url.render_as_string(hide_password=False)
    upgrade = commands.alembic_here(
        "upgrade", "head", database=pooled, MIGRATION_DATABASE_URL=direct
    )
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Database: " + empty_database_url.render_as_string() in upgrade.stderr

    first = commands.seed_here(database=pooled)
    assert first.returncode == 0, first.stderr
    assert "4 users inserted, 0 already present" in first.stdout
    users = tmp_path / "users.csv"
    users.write_text(
        "username,email\njohn_doe,john@example.com\nnew_one,new@example.com\n", encoding="utf-8"
    )
    fallback = commands.seed_here("--file", str(users), database=pooled)
    assert fallback.returncode == 0, fallback.stderr
    assert "1 users inserted, 1 already present" in fallback.stdout
    generated = commands.seed_here("--fake", "30000", "--batch-size", "1000", database=pooled)
    assert generated.returncode == 0, generated.stderr
    assert "30000 users inserted" in generated.stdout
    engine = make_engine(empty_database_url)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == 30005
    finally:
        engine.dispose()


def test_async_urls_work_through_the_pooler(empty_database_url: URL, pooled: URL) -> None:
    """asyncpg prepares every statement; the names must not collide on a server connection."""
    url = pooled.set(drivername="postgresql+asyncpg")
    upgrade = commands.alembic_here("upgrade", "head", database=url)
    assert upgrade.returncode == 0, upgrade.stderr
    for _ in range(2):
        seeded = commands.seed_here(database=url)
        assert seeded.returncode == 0, seeded.stderr
    assert "0 users inserted, 4 already present" in seeded.stdout
