"""Where the database URL comes from, and how it is shown."""

from pathlib import Path

import pytest
from sqlalchemy import make_url, text

from models.database import (
    DEFAULT_SQLITE_PATH,
    ConfigurationError,
    database_url,
    display_url,
    make_engine,
)


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    path = tmp_path / ".env"
    path.write_text("DATABASE_URL=postgresql+psycopg://app:secret@db.example/from_dotenv\n")
    return path


def test_environment_beats_dotenv(monkeypatch: pytest.MonkeyPatch, env_file: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///from_environment.db")
    assert database_url(env_file=env_file).database == "from_environment.db"


def test_dotenv_is_used_when_the_environment_has_no_url(
    monkeypatch: pytest.MonkeyPatch, env_file: Path
) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert database_url(env_file=env_file).database == "from_dotenv"


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


def test_an_empty_variable_counts_as_unset(monkeypatch: pytest.MonkeyPatch, env_file: Path) -> None:
    monkeypatch.setenv("DATABASE_URL", "")
    assert database_url(env_file=env_file).database == "from_dotenv"


def test_a_malformed_url_is_a_clear_error_without_the_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "not a url with hunter2 in it")
    with pytest.raises(ConfigurationError, match="DATABASE_URL") as error:
        database_url(env_file=None)
    assert "hunter2" not in str(error.value)


def test_passwords_are_never_displayed() -> None:
    shown = display_url(make_url("postgresql+psycopg://app:hunter2@localhost/app"))
    assert "hunter2" not in shown
    assert shown == "postgresql+psycopg://app:***@localhost/app"


def test_sqlite_connections_enforce_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'fk.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()
