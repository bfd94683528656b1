"""Connecting: every failure a user can cause is one line, never a traceback and
never the password, and a server that never answers is given up on in
DATABASE_CONNECT_TIMEOUT seconds. Both commands, alembic and the seed, are tried."""

from __future__ import annotations

import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, make_url, pool, text

from dbkit.database import make_engine
from dbkit.testing import commands
from dbkit.testing.scratch import BACKEND, SERVER_URL

Command = Callable[..., subprocess.CompletedProcess[str]]
COMMANDS = pytest.mark.parametrize(
    "command", [commands.alembic_here, commands.seed_here], ids=["alembic", "seed"]
)
# Passwords that must never be printed; the second has a bare "@", which
# SQLAlchemy alone would split into a password and part of the host name.
PASSWORDS = ["hunter2", "top@secret"]
# Each driver, and the module it needs (a project made for SQLite has none).
DRIVERS = {"postgresql+psycopg": "psycopg", "mysql+pymysql": "pymysql"}


def run(command: Command, url: str | URL, **settings: str) -> subprocess.CompletedProcess[str]:
    args = ("upgrade", "head") if command is commands.alembic_here else ()
    return command(*args, database=make_url(url), **settings)


def assert_one_line(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The command failed with a last line holding ``expected``, no traceback, no password."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    last = result.stderr.strip().splitlines()[-1]
    for part in expected:
        assert part in last, last
    for password in PASSWORDS:
        for piece in [password, *password.split("@")]:
            assert piece not in output, output
    return last


@pytest.fixture
def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port whose server accepts TCP connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)  # the kernel completes the handshakes; nobody answers
        yield int(server.getsockname()[1])


# No server involved: these run once, with the SQLite run of the suite ----------------

no_server = pytest.mark.no_database


@no_server
@COMMANDS
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("password", PASSWORDS)
def test_a_refused_port_is_one_line(
    command: Command, driver: str, password: str, closed_port: int
) -> None:
    pytest.importorskip(DRIVERS[driver])
    result = run(command, f"{driver}://app:{password}@127.0.0.1:{closed_port}/app")
    assert_one_line(result, "cannot connect to", f"127.0.0.1:{closed_port}", "app:***@")


@no_server
@COMMANDS
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("password", PASSWORDS)
def test_an_unknown_host_is_one_line(command: Command, driver: str, password: str) -> None:
    pytest.importorskip(DRIVERS[driver])
    result = run(command, f"{driver}://app:{password}@db.invalid/app")
    assert_one_line(result, "cannot connect to", "db.invalid")


@no_server
@COMMANDS
def test_a_port_that_is_not_a_number_is_one_line(command: Command) -> None:
    # (make_url() itself refuses this URL: it goes in as the environment variable only.)
    url = "postgresql+psycopg://app:top@secret@db.example:54x2/app"
    result = run(command, "sqlite://", DATABASE_URL=url, MIGRATION_DATABASE_URL=url)
    assert_one_line(result, "DATABASE_URL has a port that is not a number")  # either name


@no_server
@COMMANDS
@pytest.mark.parametrize("driver", DRIVERS)
def test_a_server_that_never_answers_is_given_up_on_in_the_connect_timeout(
    command: Command, driver: str, silent_server: int
) -> None:
    pytest.importorskip(DRIVERS[driver])
    start = time.monotonic()
    result = run(
        command,
        f"{driver}://app:hunter2@127.0.0.1:{silent_server}/app",
        DATABASE_CONNECT_TIMEOUT="2",
    )
    elapsed = time.monotonic() - start
    assert_one_line(result, "cannot connect to", "DATABASE_CONNECT_TIMEOUT")
    assert elapsed < 2 + 5, f"gave up after {elapsed:.1f} s"


@no_server
@COMMANDS
def test_a_mysql_url_without_a_database_is_one_line(command: Command, closed_port: int) -> None:
    url = f"mysql+pymysql://app:hunter2@127.0.0.1:{closed_port}?charset=utf8mb4"
    result = run(command, "sqlite://", DATABASE_URL=url, MIGRATION_DATABASE_URL=url)
    assert_one_line(result, "DATABASE_URL names no database")  # either name


# Secrets a URL can carry besides its password: libpq and SQLAlchemy take these too.
QUERY_SECRETS = {
    "password": "?password=hunter2",
    "sslpassword": "?sslmode=prefer&sslpassword=hunter2",
    "inside options": "?options=-c%20app.password%3Dhunter2",
}


@no_server
@COMMANDS
@pytest.mark.parametrize("query", QUERY_SECRETS.values(), ids=QUERY_SECRETS)
def test_a_secret_in_the_query_is_never_printed(
    command: Command, query: str, closed_port: int
) -> None:
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://app@127.0.0.1:{closed_port}/app{query}"
    result = run(command, "sqlite://", DATABASE_URL=url, MIGRATION_DATABASE_URL=url)
    assert_one_line(result, "cannot connect to", f"127.0.0.1:{closed_port}")


@no_server
@COMMANDS
def test_a_password_with_a_bare_at_sign_and_question_mark_is_never_printed(
    command: Command, closed_port: int
) -> None:
    """The host starts after the last @ before the path, not after the first ?."""
    pytest.importorskip("psycopg")
    url = f"postgresql+psycopg://app:Hunt3r@x?y=1@127.0.0.1:{closed_port}/app"
    result = run(command, "sqlite://", DATABASE_URL=url, MIGRATION_DATABASE_URL=url)
    last = assert_one_line(result, "cannot connect to", f"app:***@127.0.0.1:{closed_port}/app")
    for piece in ("Hunt3r", "x?y=1"):
        assert piece not in result.stdout + result.stderr, last


# On the server under test ---------------------------------------------------------------


@pytest.fixture
def server_url() -> URL:
    assert SERVER_URL is not None
    return make_url(SERVER_URL)


@COMMANDS
@pytest.mark.backends("postgresql", "mysql")
def test_a_database_that_does_not_exist_is_one_line(command: Command, server_url: URL) -> None:
    missing = f"missing_{uuid.uuid4().hex[:8]}"
    result = run(command, server_url.set(database=missing))
    assert_one_line(result, "cannot connect to", missing)


@COMMANDS
@pytest.mark.backends("postgresql", "mysql")
@pytest.mark.parametrize("password", PASSWORDS)
def test_an_unknown_user_or_wrong_password_is_one_line(
    command: Command, server_url: URL, password: str
) -> None:
    """On MariaDB a wrong password; on the suite's PostgreSQL, which trusts 127.0.0.1, an
    unknown role (authentication fails the same way)."""
    user = server_url.username if BACKEND == "mysql" else f"nobody_{uuid.uuid4().hex[:6]}"
    result = run(command, server_url.set(username=user, password=password))
    assert_one_line(result, "cannot connect to")


@pytest.mark.backends("postgresql")
def test_a_successful_upgrade_logs_the_database_without_its_query_secret(
    empty_database_url: URL,
) -> None:
    """`alembic upgrade` names the database it migrates; a trusting server ignores the
    password, so the run succeeds and only the log line could leak it."""
    url = empty_database_url.update_query_dict({"password": "hunter2"})
    result = commands.alembic_here("upgrade", "head", database=url)
    assert result.returncode == 0, result.stderr
    assert "Database: " in result.stderr
    assert "hunter2" not in result.stdout + result.stderr


@pytest.mark.backends("mysql")
def test_a_latin1_database_is_refused_before_the_first_migration(
    empty_database_url: URL,
) -> None:
    admin = make_engine(empty_database_url, isolation_level="AUTOCOMMIT", poolclass=pool.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(
                f"ALTER DATABASE `{empty_database_url.database}` CHARACTER SET latin1"
            )
        result = commands.alembic_here("upgrade", "head", database=empty_database_url)
        assert_one_line(result, "latin1", "utf8mb4")
        with admin.connect() as connection:
            assert connection.execute(text("SHOW TABLES")).all() == []
    finally:
        admin.dispose()


@pytest.mark.backends("mysql")
def test_reads_are_not_limited_by_the_connect_timeout(
    migrated: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PyMySQL bounds the handshake with its read timeout; a long statement afterwards is fine."""
    monkeypatch.setenv("DATABASE_CONNECT_TIMEOUT", "1")
    engine = make_engine(migrated, poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            assert connection.execute(text("SELECT SLEEP(2)")).scalar_one() == 0
    finally:
        engine.dispose()


@pytest.mark.backends("mysql")
def test_text_a_latin1_table_cannot_store_is_one_line_and_nothing_is_written(
    migrated: URL, tmp_path: Path
) -> None:
    """A table made latin1 some other way: the seed's checks pass, the database refuses."""
    engine = make_engine(migrated, poolclass=pool.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE users CONVERT TO CHARACTER SET latin1")
        users = tmp_path / "users.csv"
        users.write_text(
            "username,email,full_name\nada,ada@example.com,Ada\nlukasz,l@example.com,Łukasz\n",
            encoding="utf-8",
        )
        result = commands.seed_here("--file", str(users), database=migrated)
        assert_one_line(result, "refused a value", "nothing was written")
        assert result.returncode == 2
        with engine.connect() as connection:
            assert connection.execute(text("SELECT COUNT(*) FROM users")).scalar_one() == 0
    finally:
        engine.dispose()
