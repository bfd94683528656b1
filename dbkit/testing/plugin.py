"""The project's pytest plugin: a migrated scratch database per test session, one
transaction per test.

Installed with the project (an entry point in pyproject.toml), as pytest
plugins are; its fixtures are:

- ``session``: an ORM session on the migrated test database, inside a
  transaction rolled back after the test (``connection`` and ``engine`` under it);
- ``database_url``: that database; ``empty_database_url``: another, unmigrated
  one of the test's own, for tests that change the schema; ``migrated``: one of
  the test's own at head, for tests that commit;
- ``migration_steps``: an empty database to step through the history with
  (dbkit/testing/migration_steps.py).

The markers ``backends(...)`` and ``no_database`` say where a test applies.
The backend is the one named by ``TEST_DATABASE_URL`` (SQLite when unset).
``DATABASE_URL`` and ``MIGRATION_DATABASE_URL`` are pointed at the scratch
database for the whole session, so code under test and the commands it
starts can never reach a developer's database or read one from ``.env``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import URL, Engine, make_url, pool
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from dbkit.database import display_url, make_engine
from dbkit.migrations.revisions import alembic_config
from dbkit.safety_net.checks import migrate
from dbkit.testing import commands
from dbkit.testing.migration_steps import MigrationSteps
from dbkit.testing.scratch import BACKEND, SERVER_URL, scratch_database


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "backends(*names): the test only applies to these backends (sqlite, postgresql, mysql)",
    )
    config.addinivalue_line(
        "markers",
        "no_database: the test touches no database, so it runs once, in the SQLite run",
    )


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto``: a worker per core, and one more.

    Much of the suite waits rather than computes (on the server, on the
    commands it starts, on the clocks of the lock tests); the extra worker
    fills those waits. PYTEST_XDIST_AUTO_NUM_WORKERS still decides if set.
    """
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Deselect, rather than skip, tests that do not apply to the backend under test.

    A skip means "should have run but could not", and CI fails on any skip.
    A test that touches no database would only repeat itself on a server.
    """
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("backends")
        applies = marker is None or BACKEND in marker.args
        if item.get_closest_marker("no_database") is not None:
            applies = BACKEND == "sqlite"
        (selected if applies else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


def pytest_report_header() -> str:
    if SERVER_URL is None:
        return "database: sqlite (a temporary file; set TEST_DATABASE_URL to use a server)"
    engine = make_engine(SERVER_URL, poolclass=pool.NullPool)
    with engine.connect() as connection:
        dialect = connection.dialect
        server = "mariadb" if getattr(dialect, "is_mariadb", False) else dialect.name
        version = ".".join(str(part) for part in (dialect.server_version_info or ())[:3])
    engine.dispose()
    return f"database: {server} {version} at {display_url(make_url(SERVER_URL))}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[URL]:
    """A scratch database for the session, and the database URLs pointing at it."""
    with (
        scratch_database(SERVER_URL, tmp_path_factory.mktemp("db")) as url,
        pytest.MonkeyPatch.context() as patch,
    ):
        for name, value in commands.settings_for(url).items():
            patch.setenv(name, value)
        yield url


@pytest.fixture(scope="session")
def engine(database_url: URL) -> Iterator[Engine]:
    """An engine on the session's database, migrated to head by Alembic."""
    engine = make_engine(database_url, poolclass=pool.NullPool)
    # No transaction open: each revision commits its own (and on SQLite,
    # migrations switch foreign keys off, which only works outside one).
    with engine.connect() as connection:
        command.upgrade(alembic_config(connection), "head")
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        transaction = connection.begin()
        try:
            yield connection
        finally:
            transaction.rollback()


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    """An ORM session whose commits stay inside the test's transaction."""
    with Session(bind=connection, join_transaction_mode="create_savepoint") as session:
        yield session


@pytest.fixture
def empty_database_url(database_url: URL, tmp_path: Path) -> Iterator[URL]:
    """A second, unmigrated database on the same backend, for tests that change the schema.

    (It depends on ``database_url`` so that DATABASE_URL is already patched.)
    """
    with scratch_database(SERVER_URL, tmp_path) as url:
        yield url


@pytest.fixture
def migrated(empty_database_url: URL, monkeypatch: pytest.MonkeyPatch) -> URL:
    """A database of its own at head, for tests that commit (the seed does).

    The database URLs point at it, for code run in this process.
    """
    migrate(empty_database_url, alembic_config(), "upgrade", "head")
    for name, value in commands.settings_for(empty_database_url).items():
        monkeypatch.setenv(name, value)
    return empty_database_url


@pytest.fixture
def migration_steps(empty_database_url: URL) -> MigrationSteps:
    """An empty database of the test's own, to step through the project's history."""
    return MigrationSteps(empty_database_url, alembic_config())
