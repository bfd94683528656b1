"""Where the database URL comes from, how it is shown, what happens when its
driver is missing, and how the application gets its engine and sessions."""

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import URL, Column, Integer, MetaData, Table, insert, make_url, select, text

from dbkit.database import (
    DEFAULT_SQLITE_PATH,
    ConfigurationError,
    database_url,
    display_url,
    get_engine,
    get_sessionmaker,
    make_engine,
)
from dbkit.testing import commands


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text("DATABASE_URL=postgresql+psycopg://app:secret@db.example/from_dotenv\n")
    return path


@pytest.mark.no_database
def test_environment_beats_dotenv(monkeypatch: pytest.MonkeyPatch, env_file: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from_environment.db")
    assert database_url(env_file=env_file).database == "from_environment.db"


@pytest.mark.no_database
def test_dotenv_is_used_when_the_environment_has_no_url(
    monkeypatch: pytest.MonkeyPatch, env_file: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url(env_file=env_file).database == "from_dotenv"


@pytest.mark.no_database
def test_default_is_one_sqlite_file_in_the_project_root(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    first = database_url(env_file=tmp_path / "missing.env")
    monkeypatch.chdir(tmp_path)
    second = database_url(env_file=tmp_path / "missing.env")
    assert first == second
    assert first.get_backend_name() == "sqlite"
    assert first.database == str(DEFAULT_SQLITE_PATH)
    assert DEFAULT_SQLITE_PATH.is_absolute()


@pytest.mark.no_database
def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch, env_file: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "")
    assert database_url(env_file=env_file).database == "from_dotenv"


@pytest.mark.no_database
def test_a_malformed_url_is_a_clear_error_without_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url with hunter2 in it")
    with pytest.raises(ConfigurationError, match="DATABASE_URL") as error:
        database_url(env_file=None)
    assert "hunter2" not in str(error.value)


@pytest.mark.no_database
def test_passwords_are_never_displayed() -> None:
    shown = display_url(make_url("postgresql+psycopg://app:hunter2@localhost/app"))
    assert "hunter2" not in shown
    assert shown == "postgresql+psycopg://app:***@localhost/app"


@pytest.mark.no_database
def test_sqlite_connections_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


# A driver that is not installed ------------------------------------------------------


def run_alembic(url: str) -> subprocess.CompletedProcess[str]:
    return commands.alembic_here("upgrade", "head", database=make_url(url))


def run_seed(url: str) -> subprocess.CompletedProcess[str]:
    return commands.seed_here(database=make_url(url))


@pytest.mark.no_database
@pytest.mark.parametrize("command", [run_alembic, run_seed], ids=["alembic", "seed"])
@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("postgresql+psycopg://app:hunter2@db.invalid/app", "psycopg", "postgres"),
        ("mysql+pymysql://app:hunter2@db.invalid/app", "pymysql", "mysql"),
        ("postgresql+asyncpg://app:hunter2@db.invalid/app", "asyncpg", "async"),
    ],
    ids=["postgres", "mysql", "async"],
)
def test_a_missing_driver_is_one_line_naming_the_extra_to_install(
    monkeypatch: pytest.MonkeyPatch,
    command: Callable[[str], subprocess.CompletedProcess[str]],
    url: str,
    module: str,
    extra: str,
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what Python does when it is not installed
    result = command(url)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert f"pip install -e '.[{extra}]'" in last
    assert "hunter2" not in result.stderr + result.stdout


@pytest.mark.no_database
@pytest.mark.parametrize("command", [run_alembic, run_seed], ids=["alembic", "seed"])
def test_an_unknown_database_type_is_one_line(
    command: Callable[[str], subprocess.CompletedProcess[str]],
) -> None:
    result = command("postgres://app:hunter2@db.invalid/app")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "unknown database type 'postgres'" in result.stderr.strip().splitlines()[-1]
    assert "hunter2" not in result.stderr + result.stdout


# The application's engine and sessions -------------------------------------------------


@pytest.fixture
def app_database(migrated: URL) -> Iterator[URL]:
    """The app's engine and session factory, made afresh on the test's database."""
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()
    yield migrated
    get_engine().dispose()
    get_engine.cache_clear()
    get_sessionmaker.cache_clear()


def test_the_app_has_one_engine_and_one_session_factory_per_process(app_database: URL) -> None:
    assert get_engine() is get_engine()
    assert get_engine().url == app_database
    assert get_sessionmaker() is get_sessionmaker()
    with get_sessionmaker()() as first, get_sessionmaker()() as second:
        assert first.get_bind() is second.get_bind() is get_engine()


def test_a_unit_of_work_commits_at_the_end_of_the_block(app_database: URL) -> None:
    notes = Table("app_notes", MetaData(), Column("id", Integer, primary_key=True))
    notes.create(get_engine())
    Session = get_sessionmaker()
    with Session.begin() as session:
        session.execute(insert(notes).values(id=1))
    with Session() as session, pytest.raises(ZeroDivisionError), session.begin():  # noqa: PT012
        session.execute(insert(notes).values(id=2))
        raise ZeroDivisionError  # anything that ends the block early
    with Session() as session:
        assert session.scalars(select(notes.c.id)).all() == [1]


@pytest.mark.no_database
def test_the_suite_fails_a_command_that_prints_a_secret() -> None:
    """Every command the tests run is checked so (dbkit/testing/commands.py): the check can fail."""
    settings = {"DATABASE_URL": "postgresql+psycopg://app@db.invalid/app?password=hunter2"}
    shown = subprocess.CompletedProcess(["alembic"], 1, "", "cannot connect: password=hunter2\n")
    with pytest.raises(AssertionError, match="printed a password on stderr"):
        commands.never_shown(shown, settings)
    masked = subprocess.CompletedProcess(["alembic"], 1, "", "cannot connect: password=***\n")
    assert commands.never_shown(masked, settings) is masked
